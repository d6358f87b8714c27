import { request } from 'node:http';
import { join } from 'node:path';
import type { LocalStack } from '../../src/local/stack.js';
import type { OriginServer } from '../helpers/origin-server.js';
import { syntheticRpmFor } from '../helpers/synthetic-rpm.js';
import { startTestStack, type TestStack } from '../helpers/test-stack.js';

/** A raw request, so the path goes on the wire exactly as written. */
const send = (url: string, method: string, path: string) =>
  new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>(
    (resolve, reject) => {
      const { hostname, port } = new URL(url);
      const outgoing = request({ host: hostname, port, path, method }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      });
      outgoing.on('error', reject);
      outgoing.end();
    },
  );

describe('local stack', () => {
  let testStack: TestStack;
  let work: string;
  let origin: OriginServer;
  let stack: LocalStack;
  const rpm = syntheticRpmFor('pub/Packages/a/app-1.0-1.noarch.rpm', { payloadBytes: 200_000 });

  beforeAll(async () => {
    testStack = await startTestStack({ ORIGIN_HEAD_TIMEOUT: '1' });
    ({ work, origin, stack } = testStack);
  });

  afterAll(() => testStack.close());

  it('uses the embedded S3 store with the default bucket, data under RPM_CACHE_DATA_DIR', () => {
    expect(stack.bucketName).toBe('rpm-cache');
    expect(stack.storeDescription).toContain(join(work, 'data'));
    expect(stack.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('answers GET / with the handler 400', async () => {
    const response = await send(stack.url, 'GET', '/');

    expect(response).toMatchObject({ status: 400, body: 'missing path' });
  });

  it('answers HEAD like GET, without a body', async () => {
    const get = await send(stack.url, 'GET', '/pub/COPYING');
    const head = await send(stack.url, 'HEAD', '/pub/COPYING');

    expect(get).toMatchObject({ status: 302, headers: { 'x-cache': 'bypass' } });
    expect(head.status).toBe(302);
    expect(head.headers.location).toBe(get.headers.location);
    expect(head.headers['x-cache']).toBe('bypass');
    expect(head.body).toBe('');
  });

  it('refuses broken percent-encoding with 400', async () => {
    expect((await send(stack.url, 'GET', '/pub/%zz.rpm')).status).toBe(400);
  });

  it('sends odd but expressible paths to origin, uncached, never off the origin', async () => {
    const cases: [string, string][] = [
      ['//evil.example/x.rpm', `${origin.baseUrl}//evil.example/x.rpm`],
      ['/%2Fevil.example/x.rpm', `${origin.baseUrl}//evil.example/x.rpm`],
      ['/a/%2e%2e/x.rpm', `${origin.baseUrl}/x.rpm`],
      ['/a/%2e%2e/%2e%2e/%2e%2e/x.rpm', `${origin.baseUrl}/x.rpm`],
      ['/%5Cevil', `${origin.baseUrl}/%5Cevil`],
      ['/pub/fedora/linux/updates/', `${origin.baseUrl}/pub/fedora/linux/updates/`],
    ];
    for (const [path, location] of cases) {
      const response = await send(stack.url, 'GET', path);
      expect({
        path,
        status: response.status,
        location: response.headers.location,
        xCache: response.headers['x-cache'],
      }).toEqual({
        path,
        status: 302,
        location,
        xCache: 'bypass',
      });
    }
  });

  it('refuses a path that cannot be put in a header safely with 400, no-store', async () => {
    const response = await send(stack.url, 'GET', '/x.rpm%0d%0aSet-Cookie:%20a=b');

    expect({
      status: response.status,
      location: response.headers.location,
      cache: response.headers['cache-control'],
    }).toEqual({
      status: 400,
      location: undefined,
      cache: 'no-store',
    });
  });

  it('caches a miss through the Lambda Invoke endpoint and then serves a presigned URL the client can download', async () => {
    origin.files.set('pub/Packages/a/app-1.0-1.noarch.rpm', rpm);

    const miss = await send(stack.url, 'GET', '/pub/Packages/a/app-1.0-1.noarch.rpm');
    await stack.drain();
    origin.files.delete('pub/Packages/a/app-1.0-1.noarch.rpm');
    const hit = await send(stack.url, 'GET', '/pub/Packages/a/app-1.0-1.noarch.rpm');

    expect(miss.headers['x-cache']).toBe('miss');
    expect(hit.headers['x-cache']).toBe('hit');
    const download = await fetch(String(hit.headers.location));
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer())).toEqual(rpm);
  });
});
