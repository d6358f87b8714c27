import { headOrigin } from '../../src/handler/origin.js';
import { OriginServer, refusedBaseUrl } from '../helpers/origin-server.js';

describe('headOrigin', () => {
  let origin: OriginServer;

  beforeEach(async () => {
    origin = await OriginServer.start();
    origin.files.set('a.rpm', Buffer.from('rpm bytes'));
  });

  afterEach(async () => {
    await origin.close();
  });

  it('reports a file the origin serves as available, with one HEAD and no body', async () => {
    const result = await headOrigin(`${origin.baseUrl}/a.rpm`, 1000);

    expect(result).toEqual({
      available: true,
      status: 200,
      validators: { contentLength: 9, etag: expect.stringMatching(/^"[0-9a-f]{16}"$/) },
    });
    expect(origin.requests).toEqual([{ method: 'HEAD', url: '/a.rpm' }]);
  });

  it('reports a 404 as not available', async () => {
    expect(await headOrigin(`${origin.baseUrl}/gone.rpm`, 1000)).toEqual({ available: false, status: 404 });
  });

  it.each([403, 410, 500, 503])('reports status %i as not available, with that status', async (status) => {
    origin.behaviours.set('a.rpm', { kind: 'status', status });

    expect(await headOrigin(`${origin.baseUrl}/a.rpm`, 1000)).toEqual({ available: false, status });
  });

  it('follows redirects and reports the final answer, as dnf would see it', async () => {
    origin.behaviours.set('moved.rpm', { kind: 'status', status: 302, headers: { location: '/a.rpm' } });

    expect(await headOrigin(`${origin.baseUrl}/moved.rpm`, 1000)).toMatchObject({ available: true, status: 200 });
    expect(origin.requestsFor('HEAD').map((request) => request.url)).toEqual(['/moved.rpm', '/a.rpm']);
  });

  it('asks for the file uncompressed', async () => {
    let acceptEncoding: unknown;
    origin.behaviours.set('a.rpm', {
      kind: 'custom',
      respond: (request, response) => {
        acceptEncoding = request.headers['accept-encoding'];
        response.writeHead(200).end();
      },
    });

    await headOrigin(`${origin.baseUrl}/a.rpm`, 1000);

    expect(acceptEncoding).toBe('identity');
  });

  it('does not follow a redirect off the origin over plain http: not available, with the reason', async () => {
    const elsewhere = await OriginServer.start();
    try {
      elsewhere.files.set('a.rpm', Buffer.from('rpm'));
      origin.behaviours.set('moved.rpm', {
        kind: 'status',
        status: 302,
        headers: { location: `${elsewhere.baseUrl}/a.rpm` },
      });

      const result = await headOrigin(`${origin.baseUrl}/moved.rpm`, 1000);

      expect(result).toEqual({ available: false, status: 302, error: expect.stringContaining('only https') });
      expect(elsewhere.requests).toHaveLength(0);
    } finally {
      await elsewhere.close();
    }
  });

  it('gives up on a stalled origin after the timeout and says so', async () => {
    origin.behaviours.set('a.rpm', { kind: 'stall' });
    const started = performance.now();

    const result = await headOrigin(`${origin.baseUrl}/a.rpm`, 200);

    expect(result).toMatchObject({ available: false, status: 'timeout' });
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('reports a refused connection as unreachable, with the cause', async () => {
    const result = await headOrigin(`${await refusedBaseUrl()}/a.rpm`, 1000);

    expect(result).toMatchObject({ available: false, status: 'unreachable' });
    expect('error' in result ? result.error : '').toContain('ECONNREFUSED');
  });

  it('reports a connection closed before any answer as unreachable', async () => {
    origin.behaviours.set('a.rpm', { kind: 'reset' });

    expect(await headOrigin(`${origin.baseUrl}/a.rpm`, 1000)).toMatchObject({
      available: false,
      status: 'unreachable',
    });
  });
});
