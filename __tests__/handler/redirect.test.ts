import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { parseHandlerConfig } from '../../src/commons/config.js';
import { createRedirectMemo } from '../../src/handler/recent-keys.js';
import { decideRedirect } from '../../src/handler/redirect.js';
import { lambdaError, notFound, s3Error } from '../helpers/aws.js';
import { OriginServer, refusedBaseUrl } from '../helpers/origin-server.js';

const PACKAGE = 'pub/fedora/linux/updates/44/Everything/x86_64/Packages/d/demo-c++-1.0^20260101git-1.fc44.x86_64.rpm';
const ENCODED_PACKAGE =
  'pub/fedora/linux/updates/44/Everything/x86_64/Packages/d/demo-c++-1.0%5E20260101git-1.fc44.x86_64.rpm';

describe('decideRedirect', () => {
  const s3Mock = mockClient(S3Client);
  const lambdaMock = mockClient(LambdaClient);
  const s3 = new S3Client({});
  const lambda = new LambdaClient({});
  let origin: OriginServer;

  const deps = (overrides: Record<string, string> = {}) => ({
    config: parseHandlerConfig({
      S3_BUCKET_NAME: 'rpm-cache-bucket',
      UPLOADER_LAMBDA_ARN: 'rpm-cache-uploader',
      ORIGIN_HOST: origin.baseUrl,
      ORIGIN_HEAD_TIMEOUT: '0.3',
      PRESIGNED_URL_EXPIRATION: '900',
      ...overrides,
    }),
    s3,
    lambda,
  });

  beforeEach(async () => {
    s3Mock.reset();
    lambdaMock.reset();
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 202 });
    origin = await OriginServer.start();
  });

  afterEach(async () => {
    await origin.close();
  });

  describe('when origin has the file', () => {
    beforeEach(() => {
      origin.files.set(PACKAGE, Buffer.from('rpm'));
    });

    it('redirects to origin and triggers one async upload when it is not cached', async () => {
      s3Mock.on(HeadObjectCommand).rejects(notFound());

      const decision = await decideRedirect(PACKAGE, deps());

      expect(decision).toMatchObject({
        outcome: 'miss',
        location: `${origin.baseUrl}/${ENCODED_PACKAGE}`,
        originStatus: 200,
        cached: false,
        uploadTriggered: true,
      });
      expect(s3Mock.commandCalls(HeadObjectCommand)[0]?.args[0].input).toEqual({
        Bucket: 'rpm-cache-bucket',
        Key: `cache/${PACKAGE}`,
      });
      const invokes = lambdaMock.commandCalls(InvokeCommand);
      expect(invokes).toHaveLength(1);
      const input = invokes[0]?.args[0].input;
      expect(input?.FunctionName).toBe('rpm-cache-uploader');
      expect(input?.InvocationType).toBe('Event');
      expect(JSON.parse(new TextDecoder().decode(input?.Payload as Uint8Array))).toEqual({ path: PACKAGE });
    });

    it('redirects to origin without an upload when a copy is cached', async () => {
      s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 3 });

      const decision = await decideRedirect(PACKAGE, deps());

      expect(decision).toMatchObject({ outcome: 'stored', cached: true, uploadTriggered: false, originStatus: 200 });
      expect(decision.location).toBe(`${origin.baseUrl}/${ENCODED_PACKAGE}`);
      expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
    });

    it('throws when the uploader invoke fails, so the fallback can answer', async () => {
      s3Mock.on(HeadObjectCommand).rejects(notFound());
      lambdaMock.on(InvokeCommand).rejects(lambdaError('TooManyRequestsException', 429));

      await expect(decideRedirect(PACKAGE, deps())).rejects.toThrow('TooManyRequestsException');
    });

    it('throws when Lambda does not accept the event with a 202', async () => {
      s3Mock.on(HeadObjectCommand).rejects(notFound());
      lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200 });

      await expect(decideRedirect(PACKAGE, deps())).rejects.toThrow('expected 202');
    });
  });

  describe.each([
    [
      'origin answers 404',
      (server: OriginServer) => server.behaviours.set(PACKAGE, { kind: 'status', status: 404 }),
      404,
    ],
    [
      'origin answers 500',
      (server: OriginServer) => server.behaviours.set(PACKAGE, { kind: 'status', status: 500 }),
      500,
    ],
    [
      'origin answers 403',
      (server: OriginServer) => server.behaviours.set(PACKAGE, { kind: 'status', status: 403 }),
      403,
    ],
    [
      'origin stalls past the timeout',
      (server: OriginServer) => server.behaviours.set(PACKAGE, { kind: 'stall' }),
      'timeout',
    ],
  ])('when %s', (_name, misbehave, expectedStatus) => {
    beforeEach(() => {
      misbehave(origin);
    });

    it('redirects to a presigned URL of the cached copy', async () => {
      s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 3 });

      const decision = await decideRedirect(PACKAGE, deps());

      expect(decision).toMatchObject({
        outcome: 'hit',
        cached: true,
        uploadTriggered: false,
        originStatus: expectedStatus,
      });
      const location = new URL(decision.location ?? '');
      expect(location.hostname).toBe('rpm-cache-bucket.s3.eu-west-1.amazonaws.com');
      expect(decodeURIComponent(location.pathname)).toBe(`/cache/${PACKAGE}`);
      expect(location.searchParams.get('X-Amz-Expires')).toBe('900');
      expect(location.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
      expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
    });

    it('redirects to origin when nothing is cached, without invoking the uploader', async () => {
      s3Mock.on(HeadObjectCommand).rejects(notFound());

      const decision = await decideRedirect(PACKAGE, deps());

      expect(decision).toMatchObject({
        outcome: 'miss',
        cached: false,
        uploadTriggered: false,
        originStatus: expectedStatus,
      });
      expect(decision.location).toBe(`${origin.baseUrl}/${ENCODED_PACKAGE}`);
      // Only a file the origin confirmed is uploaded: a made-up path costs no uploader run.
      expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
    });
  });

  it('triggers the upload only once the origin has confirmed the file', async () => {
    s3Mock.on(HeadObjectCommand).rejects(notFound());
    origin.behaviours.set(PACKAGE, {
      kind: 'custom',
      respond: (_request, response) => void setTimeout(() => response.writeHead(200).end(), 200),
    });
    let invokedAt = 0;
    lambdaMock.on(InvokeCommand).callsFake(() => {
      invokedAt = performance.now();
      return { StatusCode: 202 };
    });
    const started = performance.now();

    const decision = await decideRedirect(PACKAGE, deps());

    expect(decision).toMatchObject({ outcome: 'miss', uploadTriggered: true });
    expect(invokedAt - started).toBeGreaterThanOrEqual(190);
  });

  it('never invokes the uploader for made-up paths the origin does not have', async () => {
    s3Mock.on(HeadObjectCommand).rejects(notFound());

    for (let index = 0; index < 20; index += 1) {
      expect(await decideRedirect(`pub/made-up/${index}-1.0-1.noarch.rpm`, deps())).toMatchObject({
        outcome: 'miss',
        originStatus: 404,
        uploadTriggered: false,
      });
    }
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it('signs the cached copy while the origin HEAD is out: a hit waits for nothing after it', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 3 });
    origin.behaviours.set(PACKAGE, {
      kind: 'custom',
      respond: (_request, response) => void setTimeout(() => response.writeHead(404).end(), 250),
    });
    let signedAt = 0;
    const signing = new S3Client({
      credentials: async () => {
        signedAt = performance.now();
        return { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
      },
    });
    const started = performance.now();

    const decision = await decideRedirect(PACKAGE, { ...deps(), s3: signing });

    expect(decision).toMatchObject({ outcome: 'hit', originStatus: 404 });
    expect(new URL(decision.location ?? '').searchParams.get('X-Amz-Credential')).toMatch(/^AKIDEXAMPLE\//);
    expect(signedAt - started).toBeLessThan(200);
  });

  it.each([
    [200, { outcome: 'stored' }],
    [404, undefined],
  ])('lets a signing failure matter only for a hit (origin %s, cached)', async (status, expected) => {
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 3 });
    origin.behaviours.set(PACKAGE, { kind: 'status', status });
    const unsigned = new S3Client({ credentials: () => Promise.reject(new Error('no credentials')) });

    const decided = decideRedirect(PACKAGE, { ...deps(), s3: unsigned });

    if (expected === undefined) await expect(decided).rejects.toThrow('no credentials');
    else expect(await decided).toMatchObject(expected);
  });

  it('does not invoke again for a file it triggered lately, within the memo', async () => {
    s3Mock.on(HeadObjectCommand).rejects(notFound());
    origin.files.set(PACKAGE, Buffer.from('rpm'));
    const memo = createRedirectMemo();

    const first = await decideRedirect(PACKAGE, { ...deps(), memo });
    const second = await decideRedirect(PACKAGE, { ...deps(), memo });

    expect(first).toMatchObject({ outcome: 'miss', uploadTriggered: true });
    expect(second).toMatchObject({ outcome: 'miss', uploadTriggered: false, uploadAlreadyTriggered: true });
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(1);
  });

  it('treats a refused origin connection as unavailable and serves the cached copy', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 3 });
    const refused = await refusedBaseUrl();

    const decision = await decideRedirect(PACKAGE, { ...deps({ ORIGIN_HOST: refused }) });

    expect(decision).toMatchObject({ outcome: 'hit', originStatus: 'unreachable' });
    expect(decision.originError).toContain('ECONNREFUSED');
  });

  it('gives up on a stalled origin within the configured timeout', async () => {
    origin.behaviours.set(PACKAGE, { kind: 'stall' });
    s3Mock.on(HeadObjectCommand).rejects(notFound());

    const decision = await decideRedirect(PACKAGE, deps({ ORIGIN_HEAD_TIMEOUT: '0.2' }));

    expect(decision.originStatus).toBe('timeout');
    expect(decision.originHeadMs).toBeGreaterThanOrEqual(150);
    expect(decision.originHeadMs).toBeLessThan(1500);
  });

  it('redirects a non-cacheable path to origin without asking origin, S3 or Lambda', async () => {
    const decision = await decideRedirect('pub/fedora/linux/updates/44/COPYING', deps());

    expect(decision).toEqual({
      outcome: 'bypass',
      location: `${origin.baseUrl}/pub/fedora/linux/updates/44/COPYING`,
      uploadTriggered: false,
      origin: 'default',
    });
    expect(origin.requests).toHaveLength(0);
    expect(s3Mock.calls()).toHaveLength(0);
    expect(lambdaMock.calls()).toHaveLength(0);
  });

  it('caches every configured extension', async () => {
    origin.files.set('a/b.drpm', Buffer.from('delta'));
    s3Mock.on(HeadObjectCommand).rejects(notFound());

    const decision = await decideRedirect('a/b.drpm', deps({ CACHE_EXTENSIONS: '.rpm .drpm' }));

    expect(decision.outcome).toBe('miss');
    expect(decision.uploadTriggered).toBe(true);
  });

  it.each([
    ['AccessDenied', 403],
    ['SlowDown', 503],
    ['InternalError', 500],
  ])('throws when S3 answers %s, rather than guessing the cache state', async (name, status) => {
    origin.files.set(PACKAGE, Buffer.from('rpm'));
    s3Mock.on(HeadObjectCommand).rejects(s3Error(name, status));

    await expect(decideRedirect(PACKAGE, deps())).rejects.toThrow(name);
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it('keys the cache by the decoded name and asks origin with it encoded once', async () => {
    const names = [
      'l/libstdc++-15.1.1-2.fc44.x86_64.rpm',
      'd/demo-2.0~rc1-1.noarch.rpm',
      'd/with space-1.0-1.noarch.rpm',
      'd/ünï-1.0-1.noarch.rpm',
      'd/literal%2b-1.0-1.noarch.rpm',
    ];
    s3Mock.on(HeadObjectCommand).rejects(notFound());
    for (const name of names) origin.files.set(name, Buffer.from('rpm'));

    for (const name of names) {
      expect((await decideRedirect(name, deps())).originStatus).toBe(200);
    }

    expect(s3Mock.commandCalls(HeadObjectCommand).map((call) => call.args[0].input.Key)).toEqual(
      names.map((name) => `cache/${name}`),
    );
    expect(origin.requestsFor('HEAD').map((request) => request.url)).toEqual([
      '/l/libstdc++-15.1.1-2.fc44.x86_64.rpm',
      '/d/demo-2.0~rc1-1.noarch.rpm',
      '/d/with%20space-1.0-1.noarch.rpm',
      '/d/%C3%BCn%C3%AF-1.0-1.noarch.rpm',
      '/d/literal%252b-1.0-1.noarch.rpm',
    ]);
  });
});
