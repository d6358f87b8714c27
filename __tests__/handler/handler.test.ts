import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { lambdaError, notFound, objectBody, s3Error } from '../helpers/aws.js';
import { capturedFunctionUrlEvent, capturedHttpApiEvent, functionUrlEvent } from '../helpers/captured-events.js';
import { httpApiEvent } from '../helpers/events.js';
import { lambdaContext } from '../helpers/lambda-context.js';
import { loadHandler } from '../helpers/lambdas.js';
import { captureLogs } from '../helpers/logs.js';
import { OriginServer } from '../helpers/origin-server.js';

const PACKAGE_DIR = 'pub/fedora/Packages/d';
let packageCount = 0;
/** A package no earlier test asked for: the handler remembers keys between requests, as in Lambda. */
const freshPackage = () => {
  packageCount += 1;
  return `${PACKAGE_DIR}/demo-c++-1.0^20260101git-${packageCount}.fc44.noarch.rpm`;
};
const encodedOrigin = (path: string) => path.replace('^', '%5E');

describe('handler Lambda (whole Middy chain)', () => {
  const s3Mock = mockClient(S3Client);
  const lambdaMock = mockClient(LambdaClient);
  let origin: OriginServer;
  let handler: typeof import('../../src/handler/handler.js')['handler'];
  let logs: ReturnType<typeof captureLogs>;

  const invoke = async (path: string | undefined) =>
    (await handler(httpApiEvent(path), lambdaContext('rpm-cache-handler'))) as APIGatewayProxyStructuredResultV2;

  beforeAll(async () => {
    origin = await OriginServer.start();
    handler = await loadHandler({
      S3_BUCKET_NAME: 'rpm-cache-bucket',
      UPLOADER_LAMBDA_ARN: 'rpm-cache-uploader',
      ORIGIN_HOST: origin.baseUrl,
      ORIGIN_HEAD_TIMEOUT: '0.3',
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
    });
  });

  afterAll(async () => {
    await origin.close();
  });

  let PACKAGE: string;

  beforeEach(() => {
    PACKAGE = freshPackage();
    s3Mock.reset();
    lambdaMock.reset();
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 202 });
    origin.reset();
    logs = captureLogs();
  });

  afterEach(() => {
    logs.restore();
  });

  /** The structured per-request lines (debug input/output lines aside). */
  const requestLines = () => logs.linesOf('request');

  it('answers a missing path with 400 and one bad-request line', async () => {
    const response = await invoke(undefined);

    expect(response.statusCode).toBe(400);
    expect(response.body).toBe('missing path');
    expect(requestLines()).toEqual([expect.objectContaining({ outcome: 'bad-request', reason: 'missing path' })]);
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it('sends a protocol-relative-looking path to the origin host, uncached, with the reason logged', async () => {
    const response = await invoke('//evil.example/x.rpm');

    expect(response.statusCode).toBe(302);
    expect(response.headers?.Location).toBe(`${origin.baseUrl}///evil.example/x.rpm`);
    expect(response.headers?.['X-Cache']).toBe('bypass');
    expect(s3Mock.calls()).toHaveLength(0);
    expect(requestLines()).toEqual([
      expect.objectContaining({ outcome: 'bypass', uncachedReason: expect.stringContaining('empty segment') }),
    ]);
  });

  it.each([
    ['pub/fedora/linux/updates/', 'pub/fedora/linux/updates/'],
    ['pub//x.xml', 'pub//x.xml'],
    ['pub/./x.xml', 'pub/x.xml'],
    ['pub/a/../x.xml', 'pub/x.xml'],
    [`pub/${'a'.repeat(1100)}.xml`, `pub/${'a'.repeat(1100)}.xml`],
  ])('redirects %j, which never touches S3, to origin (%j)', async (path, originPath) => {
    const response = await invoke(path);

    expect(response).toMatchObject({
      statusCode: 302,
      headers: { Location: `${origin.baseUrl}/${originPath}`, 'X-Cache': 'bypass', 'Cache-Control': 'no-store' },
    });
  });

  it('answers a 400 with Cache-Control: no-store too', async () => {
    const response = await invoke('x.rpm\r\nX: y');

    expect(response).toMatchObject({ statusCode: 400, headers: { 'Cache-Control': 'no-store' } });
  });

  it('bypasses a file that is neither cacheable nor repository metadata straight to origin', async () => {
    const response = await invoke('pub/fedora/COPYING');

    expect(response).toEqual({
      statusCode: 302,
      headers: {
        Location: `${origin.baseUrl}/pub/fedora/COPYING`,
        'X-Cache': 'bypass',
        'Cache-Control': 'no-store',
      },
      body: '',
    });
    expect(requestLines()).toEqual([
      expect.objectContaining({
        level: 'INFO',
        outcome: 'bypass',
        uploadTriggered: false,
        durationMs: expect.any(Number),
      }),
    ]);
  });

  it('redirects to origin and triggers the upload on a miss, logging one line with the details', async () => {
    origin.files.set(PACKAGE, Buffer.from('rpm'));
    s3Mock.on(HeadObjectCommand).rejects(notFound());

    const response = await invoke(PACKAGE);

    expect(response.statusCode).toBe(302);
    expect(response.headers?.['X-Cache']).toBe('miss');
    expect(response.headers?.Location).toBe(`${origin.baseUrl}/${encodedOrigin(PACKAGE)}`);
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(1);
    expect(requestLines()).toEqual([
      expect.objectContaining({
        outcome: 'miss',
        path: PACKAGE,
        originStatus: 200,
        cached: false,
        uploadTriggered: true,
        originHeadMs: expect.any(Number),
        durationMs: expect.any(Number),
        function_name: 'rpm-cache-handler',
        service: 'rpm-cache',
      }),
    ]);
  });

  it.each([
    [200, 'miss'],
    [404, 'miss'],
    [410, 'miss'],
    [503, 'miss'],
  ] as const)('tells the client what the origin answered (%s) in X-Cache-Origin-Status', async (status, outcome) => {
    origin.behaviours.set(PACKAGE, { kind: 'status', status });
    s3Mock.on(HeadObjectCommand).rejects(notFound());

    const response = await invoke(PACKAGE);

    expect(response.headers?.['X-Cache']).toBe(outcome);
    expect(response.headers?.['X-Cache-Origin-Status']).toBe(String(status));
  });

  it('sends no X-Cache-Origin-Status when it never asked the origin', async () => {
    const response = await invoke('pub/fedora/COPYING');

    expect(response.headers).not.toHaveProperty('X-Cache-Origin-Status');
  });

  it('labels a cached file that origin still has as stored', async () => {
    origin.files.set(PACKAGE, Buffer.from('rpm'));
    s3Mock.on(HeadObjectCommand).resolves({});

    const response = await invoke(PACKAGE);

    expect(response.headers?.['X-Cache']).toBe('stored');
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it('redirects to the presigned URL on a hit and never logs its query', async () => {
    s3Mock.on(HeadObjectCommand).resolves({});

    const response = await invoke(PACKAGE);

    expect(response.headers?.['X-Cache']).toBe('hit');
    const location = new URL(String(response.headers?.Location));
    const signature = location.searchParams.get('X-Amz-Signature');
    const credential = location.searchParams.get('X-Amz-Credential');
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
    expect(credential).toContain('AKIATESTTESTTESTTEST');
    const logged = logs.text();
    expect(logged).toContain('input-output');
    expect(logged).not.toContain(String(signature));
    expect(logged).not.toContain('X-Amz-Credential=');
    expect(logged).not.toContain('AKIATESTTESTTESTTEST');
    expect(logged).not.toContain(String(process.env.AWS_SECRET_ACCESS_KEY));
    expect(requestLines()).toEqual([
      expect.objectContaining({
        outcome: 'hit',
        originStatus: 404,
        location: expect.stringMatching(/\?\[redacted\]$/),
      }),
    ]);
  });

  it.each([
    ['S3 HeadObject fails', () => s3Mock.on(HeadObjectCommand).rejects(s3Error('AccessDenied', 403)), 'AccessDenied'],
    [
      'the uploader invoke fails',
      () => {
        origin.files.set(PACKAGE, Buffer.from('rpm'));
        s3Mock.on(HeadObjectCommand).rejects(notFound());
        lambdaMock.on(InvokeCommand).rejects(lambdaError('TooManyRequestsException', 429));
      },
      'TooManyRequestsException',
    ],
  ])('falls back to origin when %s, with one error line', async (_name, fault, errorName) => {
    fault();

    const response = await invoke(PACKAGE);

    expect(response.statusCode).toBe(302);
    expect(response.headers?.['X-Cache']).toBe('fallback');
    expect(response.headers?.Location).toBe(`${origin.baseUrl}/${encodedOrigin(PACKAGE)}`);
    expect(requestLines()).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        outcome: 'fallback',
        error: expect.objectContaining({ name: errorName }),
      }),
    ]);
  });

  describe('what a container remembers', () => {
    it('triggers one upload for a burst of misses of one file', async () => {
      origin.files.set(PACKAGE, Buffer.from('rpm'));
      s3Mock.on(HeadObjectCommand).rejects(notFound());

      const responses = await Promise.all(Array.from({ length: 20 }, () => invoke(PACKAGE)));

      expect(responses.map((response) => response.headers?.['X-Cache'])).toEqual(Array(20).fill('miss'));
      expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(1);
      const lines = requestLines();
      expect(lines.filter((line) => line.uploadTriggered === true)).toHaveLength(1);
      expect(lines.filter((line) => line.uploadAlreadyTriggered === true)).toHaveLength(19);
    });

    it('triggers again on the next request when an invoke failed', async () => {
      origin.files.set(PACKAGE, Buffer.from('rpm'));
      s3Mock.on(HeadObjectCommand).rejects(notFound());
      lambdaMock.on(InvokeCommand).rejectsOnce(lambdaError('ServiceException', 500)).resolves({ StatusCode: 202 });

      const first = await invoke(PACKAGE);
      const second = await invoke(PACKAGE);

      expect(first.headers?.['X-Cache']).toBe('fallback');
      expect(second.headers?.['X-Cache']).toBe('miss');
      expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(2);
    });

    it('asks S3 once about a key it found cached', async () => {
      origin.files.set(PACKAGE, Buffer.from('rpm'));
      s3Mock.on(HeadObjectCommand).resolves({});

      const first = await invoke(PACKAGE);
      const second = await invoke(PACKAGE);

      expect([first.headers?.['X-Cache'], second.headers?.['X-Cache']]).toEqual(['stored', 'stored']);
      expect(s3Mock.commandCalls(HeadObjectCommand)).toHaveLength(1);
    });
  });

  describe('during an outage', () => {
    const REPO = 'pub/fedora/linux/updates/44/Everything/x86_64/';
    const ID = 'b'.repeat(64);
    const manifest = {
      id: ID,
      createdAt: '2026-12-01T00:00:00.000Z',
      validators: { etag: '"v1"' },
      files: { 'repodata/repomd.xml': `snapshots/${ID}/${REPO}repodata/repomd.xml` },
      absent: ['repodata/repomd.xml.asc', 'repodata/repomd.xml.key', 'media.1/media'],
    };

    beforeEach(() => {
      origin.defaultBehaviour = { kind: 'status', status: 503 };
      s3Mock.on(GetObjectCommand).callsFake(() => ({
        Body: objectBody(JSON.stringify(manifest)),
      }));
    });

    it('answers a HEAD for a cached file with a Location signed for HEAD, logging the method', async () => {
      s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 3 });

      const response = (await handler(
        httpApiEvent(PACKAGE, {
          requestContext: {
            ...httpApiEvent(PACKAGE).requestContext,
            http: { ...httpApiEvent(PACKAGE).requestContext.http, method: 'HEAD' },
          },
        }),
        lambdaContext('rpm-cache-handler'),
      )) as APIGatewayProxyStructuredResultV2;
      const asGet = await invoke(PACKAGE);

      expect(response).toMatchObject({
        statusCode: 302,
        headers: { 'X-Cache': 'hit', 'X-Cache-Origin-Status': '503' },
      });
      const signature = (answer: APIGatewayProxyStructuredResultV2) =>
        new URL(String(answer.headers?.Location)).searchParams.get('X-Amz-Signature');
      expect(signature(response)).not.toBe(signature(asGet));
      expect(requestLines()[0]).toMatchObject({ method: 'HEAD', outcome: 'hit', staleReason: 'origin-failed' });
    });

    it('answers ?rpm-cache=stored with the stored copy, or a 404 saying there is none', async () => {
      s3Mock.on(HeadObjectCommand).resolvesOnce({ ContentLength: 3 }).rejects(notFound());
      const asked = (path: string) =>
        handler(
          httpApiEvent(path, { rawQueryString: 'rpm-cache=stored', queryStringParameters: { 'rpm-cache': 'stored' } }),
          lambdaContext('rpm-cache-handler'),
        ) as Promise<APIGatewayProxyStructuredResultV2>;

      const stored = await asked(PACKAGE);
      const none = await asked(freshPackage());

      expect(stored).toMatchObject({
        statusCode: 302,
        headers: { 'X-Cache': 'hit', 'X-Cache-Origin-Status': 'not-asked' },
      });
      expect(String(stored.headers?.Location)).toContain('/cache/pub/fedora/Packages/d/');
      expect(none).toMatchObject({
        statusCode: 404,
        headers: { 'X-Cache': 'miss', 'X-Cache-Origin-Status': 'not-asked' },
        body: 'Not Found: the cache holds no copy of this file\n',
      });
      expect(origin.requests).toHaveLength(0);
    });

    it('serves repomd.xml from the snapshot as stale', async () => {
      const response = await invoke(`${REPO}repodata/repomd.xml`);

      expect(response).toMatchObject({
        statusCode: 302,
        headers: { 'X-Cache': 'stale', 'X-Cache-Origin-Status': '503' },
      });
      expect(String(response.headers?.Location)).toContain(`/snapshots/${ID}/${REPO}repodata/repomd.xml?`);
    });

    it('answers 404, not a redirect, for a companion the origin did not have when the snapshot was taken', async () => {
      const response = await invoke(`${REPO}repodata/repomd.xml.asc`);

      expect(response).toMatchObject({
        statusCode: 404,
        headers: { 'X-Cache': 'stale', 'X-Cache-Origin-Status': '503', 'Cache-Control': 'no-store' },
      });
      expect(response.headers).not.toHaveProperty('Location');
      expect(requestLines()).toEqual([expect.objectContaining({ outcome: 'stale', staleReason: 'origin-failed' })]);
      expect(requestLines()[0]).not.toHaveProperty('location');
    });
  });
  describe('through a Lambda Function URL (rawPath as the client sent it)', () => {
    const GADGET = 'gadget++-2.0~rc1^20260301git-3.fc44.noarch.rpm';
    /** As dnf 4 sends it: lowercase hex, `+` and `^` encoded, `~` not. */
    const GADGET_AS_DNF_SENDS_IT = 'gadget%2b%2b-2.0~rc1%5e20260301git-3.fc44.noarch.rpm';
    let repoCount = 0;
    /** A repository no earlier test asked for (a container remembers keys), holding the gadget package. */
    const freshGadget = () => {
      repoCount += 1;
      const repo = `pub/fedora/linux/updates/44/function-url-${repoCount}`;
      return { path: `${repo}/Packages/${GADGET}`, rawPath: `/${repo}/Packages/${GADGET_AS_DNF_SENDS_IT}` };
    };
    const answer = async (event: Parameters<typeof handler>[0]) =>
      (await handler(event, lambdaContext('rpm-cache-handler'))) as APIGatewayProxyStructuredResultV2;

    it('answers the captured Function URL event exactly as the same request through the HTTP API', async () => {
      const throughFunctionUrl = await answer(capturedFunctionUrlEvent());
      const throughHttpApi = await answer(capturedHttpApiEvent());

      expect(throughFunctionUrl).toEqual(throughHttpApi);
      expect(throughFunctionUrl).toMatchObject({
        statusCode: 302,
        headers: {
          Location: `${origin.baseUrl}/capture/space%20value?${capturedFunctionUrlEvent().rawQueryString}`,
          'X-Cache': 'bypass',
        },
      });
      expect(requestLines().map((line) => line.path)).toEqual(['capture/space value', 'capture/space value']);
    });

    it('redirects GET and HEAD of a package named as dnf sends it to the origin file, as the HTTP API does', async () => {
      const { path, rawPath } = freshGadget();
      origin.files.set(path, Buffer.from('rpm'));
      s3Mock.on(HeadObjectCommand).rejects(notFound());

      const get = await answer(functionUrlEvent(`${rawPath}?countme=1`));
      const head = await answer(functionUrlEvent(`${rawPath}?countme=1`, 'HEAD'));
      const asHttpApi = await answer(
        httpApiEvent(path, { rawQueryString: 'countme=1', queryStringParameters: { countme: '1' } }),
      );

      const originFile = `${origin.baseUrl}/${path.replace('^', '%5E')}?countme=1`;
      for (const response of [get, head, asHttpApi]) {
        expect(response).toMatchObject({ statusCode: 302, headers: { Location: originFile, 'X-Cache': 'miss' } });
      }
      expect(s3Mock.commandCalls(HeadObjectCommand)[0]?.args[0].input.Key).toBe(`cache/${path}`);
      const invoked = lambdaMock.commandCalls(InvokeCommand)[0]?.args[0].input.Payload;
      expect(JSON.parse(new TextDecoder().decode(invoked as Uint8Array))).toMatchObject({ path });
      expect(requestLines().map((line) => [line.method, line.path])).toEqual([
        ['GET', path],
        ['HEAD', path],
        ['GET', path],
      ]);
    });

    it('redirects GET and HEAD to the stored copy when the origin lost the file', async () => {
      const { path, rawPath } = freshGadget();
      s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 3 });

      const get = await answer(functionUrlEvent(rawPath));
      const head = await answer(functionUrlEvent(rawPath, 'HEAD'));

      for (const response of [get, head]) {
        expect(response).toMatchObject({ statusCode: 302, headers: { 'X-Cache': 'hit' } });
        const location = new URL(String(response.headers?.Location));
        expect(location.hostname).toMatch(/^rpm-cache-bucket\./);
        expect(decodeURIComponent(location.pathname)).toBe(`/cache/${path}`);
      }
      const signature = (response: APIGatewayProxyStructuredResultV2) =>
        new URL(String(response.headers?.Location)).searchParams.get('X-Amz-Signature');
      // Signed for HEAD, as a HEAD needs.
      expect(signature(head)).not.toBe(signature(get));
      expect(requestLines()[0]).toMatchObject({ outcome: 'hit', originStatus: 404, path });
    });

    it('answers a rawPath with malformed percent-encoding 400, before S3, naming the reason', async () => {
      const response = await answer(functionUrlEvent('/Packages/gadget%zz.rpm'));

      expect(response).toMatchObject({
        statusCode: 400,
        body: 'path has malformed percent-encoding',
        headers: { 'Cache-Control': 'no-store' },
      });
      expect(s3Mock.calls()).toHaveLength(0);
      expect(origin.requests).toHaveLength(0);
      expect(requestLines()).toEqual([
        expect.objectContaining({
          outcome: 'bad-request',
          frontDoor: 'function-url',
          path: '/Packages/gadget%zz.rpm',
        }),
      ]);
    });

    it.each([
      ['GET /', '/', 'missing path'],
      ['a control character', '/Packages/x%0D%0ALocation:%20evil.rpm', 'path contains control characters'],
    ])('answers %s 400 as the HTTP API does (%j)', async (_name, rawPath, reason) => {
      const response = await answer(functionUrlEvent(rawPath));

      expect(response).toMatchObject({ statusCode: 400, body: reason });
    });
  });
});
