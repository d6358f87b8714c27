import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { notFound } from '../helpers/aws.js';
import { lambdaContext, TEST_REQUEST_ID } from '../helpers/lambda-context.js';
import { loadUploader } from '../helpers/lambdas.js';
import { captureLogs } from '../helpers/logs.js';
import { OriginServer } from '../helpers/origin-server.js';
import { syntheticRpmFor } from '../helpers/synthetic-rpm.js';

const PACKAGE = 'pub/Packages/l/libstdc++-15.1.1-2.fc44.x86_64.rpm';

describe('uploader Lambda (whole Middy chain)', () => {
  const s3Mock = mockClient(S3Client);
  let origin: OriginServer;
  let handler: typeof import('../../src/uploader/uploader.js')['handler'];
  let logs: ReturnType<typeof captureLogs>;

  const invoke = (event: unknown) => handler(event, lambdaContext('rpm-cache-uploader'));
  const uploadLines = () => logs.linesOf('upload');
  /** PutObject calls that wrote the cache (claims aside). */
  const cacheWrites = () =>
    s3Mock.commandCalls(PutObjectCommand).filter((call) => call.args[0].input.Key?.startsWith('cache/'));

  beforeAll(async () => {
    origin = await OriginServer.start();
    handler = await loadUploader({
      S3_BUCKET_NAME: 'rpm-cache-bucket',
      ORIGIN_HOST: origin.baseUrl,
      UPLOADER_LAMBDA_ARN: undefined,
    });
  });

  afterAll(async () => {
    await origin.close();
  });

  beforeEach(() => {
    s3Mock.reset();
    s3Mock.on(HeadObjectCommand).rejects(notFound());
    s3Mock.on(GetObjectCommand).rejects(notFound());
    s3Mock.on(PutObjectCommand).resolves({});
    origin.reset();
    logs = captureLogs();
  });

  afterEach(() => {
    logs.restore();
  });

  it('claims the download, stores the file and logs one line with the outcome', async () => {
    const rpm = syntheticRpmFor(PACKAGE);
    origin.files.set(PACKAGE, rpm);

    const result = await invoke({ path: PACKAGE });

    expect(result).toEqual({
      outcome: 'stored',
      originStatus: 200,
      bytes: rpm.length,
      sourceUrl: `${origin.baseUrl}/pub/Packages/l/libstdc++-15.1.1-2.fc44.x86_64.rpm`,
      repositoryCheck: { result: 'no-snapshot' },
    });
    expect(cacheWrites().map((call) => call.args[0].input.Key)).toEqual([`cache/${PACKAGE}`]);
    const claim = s3Mock.commandCalls(PutObjectCommand).find((call) => call.args[0].input.Key === `claims/${PACKAGE}`);
    expect(JSON.parse(String(claim?.args[0].input.Body))).toMatchObject({
      owner: TEST_REQUEST_ID,
    });
    expect(uploadLines()).toEqual([
      expect.objectContaining({
        level: 'INFO',
        outcome: 'stored',
        path: PACKAGE,
        bytes: rpm.length,
        durationMs: expect.any(Number),
      }),
    ]);
  });

  it('refuses a corrupt download without a retry, logging an error', async () => {
    origin.files.set(PACKAGE, Buffer.from('<html>mirror error page</html>'));

    const result = await invoke({ path: PACKAGE });

    expect(result).toMatchObject({ outcome: 'corrupt', reason: expect.stringContaining('not an RPM') });
    expect(cacheWrites()).toHaveLength(0);
    expect(uploadLines()).toEqual([expect.objectContaining({ level: 'ERROR', outcome: 'corrupt', path: PACKAGE })]);
  });

  it('finishes quietly when origin no longer has the file', async () => {
    expect(await invoke({ path: PACKAGE })).toEqual({ outcome: 'origin-missing', originStatus: 404 });
    expect(uploadLines()).toEqual([expect.objectContaining({ level: 'INFO', outcome: 'origin-missing' })]);
  });

  it.each([
    ['null', null, 'event is not an object'],
    ['a string', 'pub/a.rpm', 'event is not an object'],
    ['a number', 42, 'event is not an object'],
    ['an array', [{ path: PACKAGE }], 'event is not an object'],
    ['an object without path', { key: PACKAGE }, 'event.path is missing or not a string'],
    ['a path of the wrong type', { path: 42 }, 'event.path is missing or not a string'],
    ['a path with CR/LF', { path: 'a.rpm\r\nx' }, 'control characters'],
    [
      'a non-cacheable path',
      { path: 'repodata/primary.xml.gz' },
      'path is neither a cacheable file (CACHE_EXTENSIONS) nor a repodata/repomd.xml',
    ],
    ['a path that cannot be a key', { path: 'pub/../x.rpm' }, '"." or ".." segment'],
  ])('rejects %s with the reason, counted as rejected', async (_name, event, reason) => {
    const result = await invoke(event);

    expect(result).toEqual({ outcome: 'rejected', reason: expect.stringContaining(reason) });
    expect(uploadLines()).toEqual([
      expect.objectContaining({ outcome: 'rejected', reason: expect.stringContaining(reason) }),
    ]);
    expect(JSON.stringify(logs.metrics())).toContain('"Outcome":"rejected"');
  });

  it.each([
    ['a handler request id', 'c6af9ac6-7b61-11e6-9a41-93e812345678', true],
    ['an id with a dot and colon', 'req.1:a', true],
    ['an id too long to be one', 'x'.repeat(129), false],
    ['an id with a space', 'two words', false],
    ['an id with a newline', 'a\nb', false],
    ['not a string', 42, false],
  ])('labels its lines with triggeredBy when the event carries %s: %s', async (_name, triggeredBy, labelled) => {
    origin.behaviours.set(PACKAGE, { kind: 'status', status: 404 });

    await invoke({ path: PACKAGE, triggeredBy });

    const [line] = uploadLines();
    expect(line?.triggeredBy).toBe(labelled ? triggeredBy : undefined);
  });

  it.each([
    ['null', null],
    ['a string', 'pub/a.rpm'],
    ['an array', [{ path: PACKAGE }]],
    ['an object without path', { key: PACKAGE }],
    ['a path of the wrong type', { path: 42 }],
    ['a hostile path', { path: '../../etc/passwd.rpm' }],
    ['a path with CR/LF', { path: 'a.rpm\r\nx' }],
    ['a non-cacheable path', { path: 'repodata/primary.xml.gz' }],
  ])('rejects %s with a logged error and no retry', async (_name, event) => {
    const result = await invoke(event);

    expect(result).toMatchObject({ outcome: 'rejected', reason: expect.any(String) });
    expect(s3Mock.calls()).toHaveLength(0);
    expect(origin.requests).toHaveLength(0);
    expect(uploadLines()).toEqual([expect.objectContaining({ level: 'ERROR', outcome: 'rejected' })]);
  });

  it('throws on a transient origin failure so Lambda retries, after logging it', async () => {
    origin.behaviours.set(PACKAGE, { kind: 'status', status: 503 });

    await expect(invoke({ path: PACKAGE })).rejects.toThrow('answered 503');
    expect(uploadLines()).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        outcome: 'failed',
        path: PACKAGE,
        error: expect.objectContaining({ name: 'OriginUnavailableError' }),
      }),
    ]);
    expect(cacheWrites()).toHaveLength(0);
  });
});
