/**
 * The CloudWatch metrics both chains write (embedded metric format on stdout):
 * one flush per invocation, errors included, with bounded dimensions.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { fallbackCause } from '../src/commons/metrics.js';
import { notFound, s3Error } from './helpers/aws.js';
import { httpApiEvent } from './helpers/events.js';
import { lambdaContext } from './helpers/lambda-context.js';
import { loadHandler, loadUploader, uniquePackagePath } from './helpers/lambdas.js';
import { captureLogs, type EmfLine } from './helpers/logs.js';
import { OriginServer } from './helpers/origin-server.js';
import { syntheticRpmFor } from './helpers/synthetic-rpm.js';

/** Each metric written, with its unit, value and dimensions. */
const flatten = (lines: readonly EmfLine[]) =>
  lines.flatMap((line) =>
    line._aws.CloudWatchMetrics.flatMap((directive) =>
      directive.Metrics.map((metric) => ({
        namespace: directive.Namespace,
        name: metric.Name,
        unit: metric.Unit,
        value: line[metric.Name],
        dimensions: Object.fromEntries(
          (directive.Dimensions[0] ?? []).map((dimension) => [dimension, line[dimension]]),
        ) as Record<string, unknown>,
      })),
    ),
  );

describe('metrics', () => {
  const s3Mock = mockClient(S3Client);
  const lambdaMock = mockClient(LambdaClient);
  let origin: OriginServer;
  let handler: typeof import('../src/handler/handler.js')['handler'];
  let uploader: typeof import('../src/uploader/uploader.js')['handler'];
  let logs: ReturnType<typeof captureLogs>;
  const freshPackage = () => uniquePackagePath('pub/Packages/m');

  beforeAll(async () => {
    origin = await OriginServer.start();
    const env = {
      S3_BUCKET_NAME: 'rpm-cache-bucket',
      UPLOADER_LAMBDA_ARN: 'rpm-cache-uploader',
      ORIGIN_HOST: origin.baseUrl,
      ORIGIN_HEAD_TIMEOUT: '0.3',
      ORIGINS: `named=${origin.baseUrl}/named-origin`,
    };
    handler = await loadHandler(env);
    uploader = await loadUploader(env);
  });

  afterAll(async () => {
    await origin.close();
  });

  beforeEach(() => {
    s3Mock.reset();
    lambdaMock.reset();
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 202 });
    origin.reset();
    logs = captureLogs();
  });

  afterEach(() => {
    logs.restore();
  });

  const metricsWritten = () => flatten(logs.metrics());
  const named = (name: string) => metricsWritten().filter((metric) => metric.name === name);
  const metricsNamed = named;

  it('counts a miss under its outcome, records the origin HEAD latency apart, in namespace RpmCache', async () => {
    const path = freshPackage();
    origin.files.set(path, Buffer.from('rpm'));
    s3Mock.on(HeadObjectCommand).rejects(notFound());

    await handler(httpApiEvent(path), lambdaContext('rpm-cache-handler'));

    expect(named('Requests')).toEqual([
      {
        namespace: 'RpmCache',
        name: 'Requests',
        unit: 'Count',
        value: 1,
        dimensions: { service: 'rpm-cache', Outcome: 'miss' },
      },
    ]);
    expect(named('OriginHeadLatency')).toEqual([
      expect.objectContaining({
        unit: 'Milliseconds',
        value: expect.any(Number),
        dimensions: { service: 'rpm-cache' },
      }),
    ]);
    expect(JSON.stringify(logs.metrics())).not.toContain(path);
  });

  it('counts each answer and upload by origin name too, leaving Requests and Uploads by outcome alone', async () => {
    const named = uniquePackagePath('named/Packages/n');
    const unnamed = freshPackage();
    origin.files.set(`named-origin/${named.slice('named/'.length)}`, syntheticRpmFor(named));
    s3Mock.on(HeadObjectCommand).rejects(notFound());
    s3Mock.on(PutObjectCommand).resolves({});

    await handler(httpApiEvent(named), lambdaContext('rpm-cache-handler'));
    await handler(httpApiEvent(unnamed), lambdaContext('rpm-cache-handler'));
    await uploader({ path: named }, lambdaContext('rpm-cache-uploader'));

    expect(metricsNamed('RequestsByOrigin').map((metric) => metric.dimensions)).toEqual([
      { service: 'rpm-cache', Origin: 'named', Outcome: 'miss' },
      { service: 'rpm-cache', Origin: 'default', Outcome: 'miss' },
    ]);
    expect(metricsNamed('UploadsByOrigin').map((metric) => metric.dimensions)).toEqual([
      { service: 'rpm-cache', Origin: 'named', Outcome: 'stored' },
    ]);
    expect(metricsNamed('Requests').map((metric) => metric.dimensions)).toEqual([
      { service: 'rpm-cache', Outcome: 'miss' },
      { service: 'rpm-cache', Outcome: 'miss' },
    ]);
    expect(metricsNamed('Uploads').map((metric) => metric.dimensions)).toEqual([
      { service: 'rpm-cache', Outcome: 'stored' },
    ]);
  });

  it('counts a bypass, with no origin latency', async () => {
    await handler(httpApiEvent('pub/COPYING'), lambdaContext('rpm-cache-handler'));

    expect(named('Requests').map((metric) => metric.dimensions.Outcome)).toEqual(['bypass']);
    expect(named('OriginHeadLatency')).toEqual([]);
  });

  it('counts an answer from the cache by why the origin was not used: it failed, then it had lost the file', async () => {
    const path = freshPackage();
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 3 });

    await handler(httpApiEvent(path), lambdaContext('rpm-cache-handler'));
    await handler(httpApiEvent(path), lambdaContext('rpm-cache-handler'));

    expect(named('Requests').map((metric) => metric.dimensions.Outcome)).toEqual(['hit', 'hit']);
    expect(named('StaleAnswers').map((metric) => [metric.value, metric.dimensions.Reason])).toEqual([
      [1, 'origin-failed'],
      [1, 'origin-lost'],
    ]);
    expect(named('OriginAssumedOffline')).toEqual([]);
  });

  it('counts the requests answered while the origin is assumed offline', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 3 });
    origin.defaultBehaviour = { kind: 'stall' };
    try {
      await handler(httpApiEvent(freshPackage()), lambdaContext('rpm-cache-handler'));
      await handler(httpApiEvent(freshPackage()), lambdaContext('rpm-cache-handler'));

      expect(named('OriginAssumedOffline')).toEqual([
        expect.objectContaining({ unit: 'Count', value: 1, dimensions: { service: 'rpm-cache' } }),
      ]);
      expect(named('StaleAnswers').map((metric) => metric.dimensions.Reason)).toEqual([
        'origin-failed',
        'assumed-offline',
      ]);
    } finally {
      // The origin answers again; one request's recovery probe ends the period for the other tests.
      origin.defaultBehaviour = undefined;
      await handler(httpApiEvent(freshPackage()), lambdaContext('rpm-cache-handler'));
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
  });

  it('counts a snapshot run under its outcome', async () => {
    // The repository has no snapshot yet.
    s3Mock.on(GetObjectCommand).rejects(s3Error('NoSuchKey', 404));

    await uploader({ path: 'pub/gone/repodata/repomd.xml' }, lambdaContext('rpm-cache-uploader'));

    expect(named('Snapshots')).toEqual([
      expect.objectContaining({ value: 1, dimensions: { service: 'rpm-cache', Outcome: 'origin-missing' } }),
    ]);
    expect(named('Uploads')).toEqual([]);
  });

  it('flushes on a 400 too, counting a bad request', async () => {
    await handler(httpApiEvent(undefined), lambdaContext('rpm-cache-handler'));

    expect(named('Requests').map((metric) => metric.dimensions.Outcome)).toEqual(['bad-request']);
  });

  it('counts a fallback and its cause when S3 fails', async () => {
    const path = freshPackage();
    origin.files.set(path, Buffer.from('rpm'));
    s3Mock.on(HeadObjectCommand).rejects(s3Error('SlowDown', 503));

    await handler(httpApiEvent(path), lambdaContext('rpm-cache-handler'));

    expect(named('Requests').map((metric) => metric.dimensions.Outcome)).toEqual(['fallback']);
    expect(named('Fallbacks')).toEqual([
      expect.objectContaining({ value: 1, dimensions: { service: 'rpm-cache', Cause: 'SlowDown' } }),
    ]);
  });

  it('counts a stored upload and the bytes it stored', async () => {
    const path = freshPackage();
    const rpm = syntheticRpmFor(path);
    origin.files.set(path, rpm);
    s3Mock.on(HeadObjectCommand).rejects(notFound());
    s3Mock.on(PutObjectCommand).resolves({});

    await uploader({ path }, lambdaContext('rpm-cache-uploader'));

    expect(named('Uploads')).toEqual([
      expect.objectContaining({ unit: 'Count', value: 1, dimensions: { service: 'rpm-cache', Outcome: 'stored' } }),
    ]);
    expect(named('BytesStored')).toEqual([
      expect.objectContaining({ unit: 'Bytes', value: rpm.length, dimensions: { service: 'rpm-cache' } }),
    ]);
  });

  it('flushes a failed upload before the error goes to Lambda for a retry', async () => {
    const path = freshPackage();
    s3Mock.on(HeadObjectCommand).rejects(s3Error('InternalError', 500));

    await expect(uploader({ path }, lambdaContext('rpm-cache-uploader'))).rejects.toThrow();

    expect(named('Uploads').map((metric) => metric.dimensions.Outcome)).toEqual(['failed']);
  });

  it('counts a rejected event', async () => {
    await uploader({ nope: true }, lambdaContext('rpm-cache-uploader'));

    expect(named('Uploads').map((metric) => metric.dimensions.Outcome)).toEqual(['rejected']);
  });

  it.each([
    [s3Error('AccessDenied', 403), 'AccessDenied'],
    [s3Error('Unknown', 403), 'HTTP403'],
    [Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }), 'TimeoutError'],
    [new Error('plain'), 'Error'],
    [Object.assign(new Error('x'), { name: 'weird name/with spaces' }), 'Error'],
    ['not an error', 'Error'],
  ])('labels a fallback cause by the error name, never its message (%#)', (error, cause) => {
    expect(fallbackCause(error)).toBe(cause);
  });
});
