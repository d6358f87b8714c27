/**
 * Fault injection: the handler (whole Middy chain, real SDK clients) against
 * real local servers standing in for S3, Lambda and the origin, each made to
 * misbehave. Every answer must be a 302 to origin, or to the cached copy
 * where that is right, within ORIGIN_HEAD_TIMEOUT + 1 s, with one log line
 * naming the fault and no unhandled rejection.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { httpApiEvent } from '../helpers/events.js';
import { type Fault, FaultServer } from '../helpers/fault-server.js';
import { lambdaContext } from '../helpers/lambda-context.js';
import { loadHandler } from '../helpers/lambdas.js';
import { captureLogs } from '../helpers/logs.js';

const ORIGIN_HEAD_TIMEOUT_MS = 500;
const BOUND_MS = ORIGIN_HEAD_TIMEOUT_MS + 1000;
const BUCKET = 'rpm-cache-faults';

describe('handler under injected faults', () => {
  /** Decoded paths the fake S3 holds under `cache/`, and the origin serves. */
  const cachedPaths = new Set<string>();
  const originPaths = new Set<string>();
  let s3: FaultServer;
  let lambda: FaultServer;
  let origin: FaultServer;
  let handler: typeof import('../../src/handler/handler.js')['handler'];
  let logs: ReturnType<typeof captureLogs>;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  let count = 0;

  const freshPath = (prefix = '') => {
    count += 1;
    return `${prefix}pub/Packages/f/fault-c++-1.0^${count}-1.noarch.rpm`;
  };

  const invoke = async (path: string) => {
    const started = performance.now();
    const response = (await handler(
      httpApiEvent(path),
      lambdaContext('rpm-cache-handler'),
    )) as APIGatewayProxyStructuredResultV2;
    return { response, ms: performance.now() - started };
  };

  const requestLines = () => logs.linesOf('request');

  beforeAll(async () => {
    s3 = await FaultServer.start((request, _body, response) => {
      const key = decodeURIComponent(new URL(request.url ?? '/', 'http://s3').pathname).replace(`/${BUCKET}/`, '');
      const cached = key.startsWith('cache/') && cachedPaths.has(key.slice('cache/'.length));
      response.writeHead(cached ? 200 : 404, cached ? { 'content-length': '3', etag: '"e"' } : {}).end();
    });
    lambda = await FaultServer.start((_request, _body, response) => {
      response.writeHead(202).end();
    });
    origin = await FaultServer.start((request, _body, response) => {
      const path = decodeURIComponent(new URL(request.url ?? '/', 'http://origin').pathname).slice(1);
      if (path.startsWith('moved/')) {
        response.writeHead(301, { location: `/${path.slice('moved/'.length)}` }).end();
        return;
      }
      response.writeHead(originPaths.has(path) ? 200 : 404).end();
    });
    handler = await loadHandler({
      AWS_ENDPOINT_URL_S3: s3.url,
      AWS_ENDPOINT_URL_LAMBDA: lambda.url,
      S3_BUCKET_NAME: BUCKET,
      UPLOADER_LAMBDA_ARN: 'rpm-cache-uploader',
      ORIGIN_HOST: origin.url,
      ORIGIN_HEAD_TIMEOUT: String(ORIGIN_HEAD_TIMEOUT_MS / 1000),
      // Each fault on its own: nothing the container remembers (origin assumed offline, lost files) carries over.
      ORIGIN_OFFLINE_PERIOD: '0',
      ORIGIN_LOST_TTL: '0',
    });
    process.on('unhandledRejection', onUnhandled);
  });

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await Promise.all([s3.close(), lambda.close(), origin.close()]);
  });

  beforeEach(async () => {
    logs = captureLogs();
    for (const server of [s3, lambda, origin]) {
      server.fault = undefined;
      await server.resume();
    }
  });

  afterEach(async () => {
    logs.restore();
    // Let any stray rejection surface before the check.
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled).toEqual([]);
  });

  type Misbehave = (server: FaultServer) => Promise<void> | void;
  const respond =
    (status: number, headers: Record<string, string> = {}, body = ''): Misbehave =>
    (server) => {
      server.fault = { kind: 'respond', status, headers, body } satisfies Fault;
    };
  const fault =
    (kind: 'stall' | 'reset' | 'garbage'): Misbehave =>
    (server) => {
      server.fault = { kind };
    };
  const refuse: Misbehave = (server) => server.refuse();

  /** A request for a file origin has, while `server` misbehaves: the answer is a fallback to origin. */
  const expectFallbackWhile = async (server: FaultServer, misbehave: Misbehave, naming: Record<string, unknown>) => {
    const path = freshPath();
    originPaths.add(path);
    await misbehave(server);

    const { response, ms } = await invoke(path);

    expect(response.statusCode).toBe(302);
    expect(response.headers?.['X-Cache']).toBe('fallback');
    expect(new URL(String(response.headers?.Location)).host).toBe(origin.host);
    expect(ms).toBeLessThan(BOUND_MS);
    expect(requestLines()).toEqual([expect.objectContaining({ level: 'ERROR', outcome: 'fallback', ...naming })]);
  };

  /** The log line names the fault: by the error's message, or by the HTTP status S3 or Lambda answered. */
  const saying = (text: string) => ({ error: expect.objectContaining({ message: expect.stringContaining(text) }) });
  const status = (code: number) => ({ errorStatus: code });
  const xml = { 'content-type': 'application/xml' };

  describe.each([
    ['refuses connections', refuse, saying('ECONNREFUSED')],
    ['stalls', fault('stall'), saying('aborted due to timeout')],
    ['answers 500 InternalError', respond(500, xml, '<Error><Code>InternalError</Code></Error>'), status(500)],
    ['answers 503 SlowDown', respond(503, xml, '<Error><Code>SlowDown</Code></Error>'), status(503)],
    ['answers 403 AccessDenied', respond(403, xml, '<Error><Code>AccessDenied</Code></Error>'), status(403)],
    ['answers 500 with malformed XML', respond(500, xml, '<Error><Code>Intern'), status(500)],
    ['closes the connection', fault('reset'), saying('socket hang up')],
    ['answers without a status line', fault('garbage'), saying('Parse Error')],
  ])('S3 %s', (_name, misbehave, naming) => {
    it('redirects to origin, labelled fallback, in time, with one error line naming the fault', () =>
      expectFallbackWhile(s3, misbehave, naming));
  });

  describe.each([
    ['refuses connections', refuse],
    ['stalls', fault('stall')],
    ['answers 503 SlowDown', respond(503, xml, '<Error><Code>SlowDown</Code></Error>')],
    ['answers 500 with malformed XML', respond(500, xml, '<Error><Code>Intern')],
  ])('S3 %s under /@<time>/', (_name, misbehave) => {
    it('answers repository metadata with a 503 to try again, never the origin (it has only today’s version)', async () => {
      await misbehave(s3);

      const { response, ms } = await invoke('@20261101T000000Z/pub/fedora/x86_64/repodata/repomd.xml');

      expect(response.statusCode).toBe(503);
      // Two S3 round trips are tens of ms: a client waits at most the lookup's 3 s (and a little).
      expect(ms).toBeLessThan(4000);
      expect(response.headers).toMatchObject({ 'Retry-After': '5' });
      expect(logs.linesOf('time travel')).toEqual([
        expect.objectContaining({ level: 'ERROR', outcome: 'unavailable' }),
      ]);
    });

    it('sends an RPM to the origin, at its path without the time', async () => {
      const path = freshPath();
      originPaths.add(path);
      await misbehave(s3);

      const { response } = await invoke(`@20261101T000000Z/${path}`);

      expect(response.statusCode).toBe(302);
      expect(response.headers?.['X-Cache']).toBe('fallback');
      const location = new URL(String(response.headers?.Location));
      expect(location.host).toBe(origin.host);
      expect(decodeURIComponent(location.pathname)).toBe(`/${path}`);
    });
  });

  const json = (errorType?: string) => ({
    'content-type': 'application/json',
    ...(errorType === undefined ? {} : { 'x-amzn-errortype': errorType }),
  });

  describe.each([
    ['refuses connections', refuse, saying('ECONNREFUSED')],
    ['stalls', fault('stall'), saying('aborted due to timeout')],
    [
      'answers 429 TooManyRequestsException',
      respond(429, json('TooManyRequestsException'), '{"message":"Rate exceeded"}'),
      { ...status(429), error: expect.objectContaining({ name: 'TooManyRequestsException' }) },
    ],
    [
      'answers 500 ServiceException',
      respond(500, json('ServiceException'), '{"message":"oops"}'),
      { ...status(500), error: expect.objectContaining({ name: 'ServiceException' }) },
    ],
    ['answers 500 with malformed JSON', respond(500, json(), '{"message":'), saying('JSON')],
    ['answers without a status line', fault('garbage'), saying('Parse Error')],
  ])('Lambda invoke %s', (_name, misbehave, naming) => {
    it('still redirects to origin, labelled fallback, in time, with one error line naming the fault', () =>
      expectFallbackWhile(lambda, misbehave, naming));
  });

  describe.each([
    ['refuses connections', refuse, 'unreachable'],
    ['stalls past the timeout', fault('stall'), 'timeout'],
    ['resets the connection mid-HEAD', fault('reset'), 'unreachable'],
    ['answers 500', respond(500), 500],
    ['answers 403', respond(403), 403],
    ['answers without a status line', fault('garbage'), 'unreachable'],
  ])('origin %s', (_name, misbehave, originStatus) => {
    it('redirects to the cached copy when there is one', async () => {
      const path = freshPath();
      cachedPaths.add(path);
      await misbehave(origin);

      const { response, ms } = await invoke(path);

      expect(response.statusCode).toBe(302);
      expect(response.headers?.['X-Cache']).toBe('hit');
      const location = new URL(String(response.headers?.Location));
      expect(location.host).toBe(s3.host);
      expect(decodeURIComponent(location.pathname)).toBe(`/${BUCKET}/cache/${path}`);
      expect(ms).toBeLessThan(BOUND_MS);
      expect(requestLines()).toEqual([expect.objectContaining({ outcome: 'hit', originStatus })]);
      if (typeof originStatus === 'string') {
        expect(requestLines()[0]?.originError).toEqual(expect.any(String));
      }
    });

    it('redirects to origin when nothing is cached, as if rpm-cache were not there', async () => {
      const path = freshPath();
      await misbehave(origin);

      const { response, ms } = await invoke(path);

      expect(response.headers?.['X-Cache']).toBe('miss');
      expect(new URL(String(response.headers?.Location)).host).toBe(origin.host);
      expect(ms).toBeLessThan(BOUND_MS);
      expect(requestLines()).toEqual([
        // Only a file the origin confirmed is uploaded: nothing to fetch from a failing origin.
        expect.objectContaining({ outcome: 'miss', originStatus, uploadTriggered: false }),
      ]);
    });
  });

  describe('origin redirects on HEAD (followed, as dnf follows them)', () => {
    it('counts a redirect to a file origin has as "origin has it"', async () => {
      const path = freshPath();
      originPaths.add(path);

      const { response } = await invoke(`moved/${path}`);

      expect(response.headers?.['X-Cache']).toBe('miss');
      expect(requestLines()).toEqual([expect.objectContaining({ originStatus: 200, uploadTriggered: true })]);
    });

    it('counts a redirect to a missing file as "origin dropped it"', async () => {
      const path = freshPath('moved/');
      cachedPaths.add(path);

      const { response } = await invoke(path);

      expect(response.headers?.['X-Cache']).toBe('hit');
      expect(requestLines()).toEqual([expect.objectContaining({ originStatus: 404 })]);
    });
  });
});
