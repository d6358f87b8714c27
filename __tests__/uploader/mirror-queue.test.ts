/**
 * The uploader's SQS front door (middlewares/mirror-queue.ts), through the
 * whole Lambda module as the event source mapping calls it: the real uploader
 * against s3rver (behind the local stack's conditional-write proxy, so claims
 * work as on S3) and a mirror on 127.0.0.1. Each record is an uploader event;
 * the answer names the records SQS must deliver again.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { isS3NotFound } from '../../src/commons/aws-errors.js';
import { startEmbeddedS3 } from '../../src/local/stack.js';
import { lambdaContext, TEST_REQUEST_ID } from '../helpers/lambda-context.js';
import { loadUploader } from '../helpers/lambdas.js';
import { captureLogs } from '../helpers/logs.js';
import { OriginServer } from '../helpers/origin-server.js';
import { localStoreClient, S3RVER_CREDENTIALS } from '../helpers/s3rver.js';
import { syntheticRpmFor } from '../helpers/synthetic-rpm.js';

const BUCKET = 'rpm-cache-mirror-door';
const REPO = 'pub/fedora/linux/updates/44/Everything/x86_64/';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** One record as the event source mapping passes it (batch of the mirror queue). */
const record = (body: string, receiveCount = 1, messageId = randomUUID()): SQSRecord => ({
  messageId,
  receiptHandle: Buffer.from(`${messageId}:${randomUUID()}`).toString('base64'),
  body,
  attributes: {
    ApproximateReceiveCount: String(receiveCount),
    SentTimestamp: String(Date.now()),
    SenderId: '000000000000',
    ApproximateFirstReceiveTimestamp: String(Date.now()),
  },
  messageAttributes: {},
  md5OfBody: createHash('md5').update(body).digest('hex'),
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:eu-west-1:000000000000:rpm-cache-mirror',
  awsRegion: 'eu-west-1',
});

const sqsEvent = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

let packageCount = 0;
/** A path no earlier test used, and an RPM the mirror serves there. */
const publish = (origin: OriginServer, name = 'mirrored') => {
  packageCount += 1;
  const path = `${REPO}Packages/m/${name}${packageCount}-1.0-1.fc44.x86_64.rpm`;
  const bytes = syntheticRpmFor(path, { payloadBytes: 2048 });
  origin.files.set(path, bytes);
  return { path, bytes };
};

/** The body fan-out sends for `path`: the uploader's own event with the listing's checksum. */
const bodyFor = (path: string, bytes: Buffer) =>
  JSON.stringify({
    path,
    triggeredBy: 'mirror:0123456789ab',
    expect: { sha256: sha256(bytes), size: bytes.length, sourceRpm: 'mirrored-1.0-1.fc44.src.rpm' },
  });

describe('uploader Lambda, SQS front door (mirror queue)', () => {
  let work: string;
  let store: Awaited<ReturnType<typeof startEmbeddedS3>>;
  let s3: S3Client;
  let origin: OriginServer;
  let handler: Awaited<ReturnType<typeof loadUploader>>;
  let logs: ReturnType<typeof captureLogs>;

  const invoke = (event: unknown) => handler(event, lambdaContext('rpm-cache-uploader'));
  const stored = async (path: string): Promise<Buffer | undefined> => {
    try {
      const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `cache/${path}` }));
      return Buffer.from((await object.Body?.transformToByteArray()) ?? []);
    } catch (error) {
      if (isS3NotFound(error)) return undefined;
      throw error;
    }
  };
  const downloadsOf = (path: string) =>
    origin.requestsFor('GET').filter(({ url }) => decodeURIComponent(url) === `/${path}`).length;
  const uploadLines = () => logs.linesOf('upload');
  /** The `Uploads` metric as published: each value with the Outcome of its metric set. */
  const uploadCounts = () =>
    logs
      .metrics()
      .filter((line) => 'Uploads' in line)
      .flatMap((line) => [line.Uploads].flat().map((count) => [line.Outcome, count]));

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'rpm-cache-mirror-door-'));
    store = await startEmbeddedS3(join(work, 'data'), BUCKET);
    s3 = localStoreClient(store.endpoint);
    origin = await OriginServer.start();
    handler = await loadUploader({
      AWS_ENDPOINT_URL_S3: store.endpoint,
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      S3_BUCKET_NAME: BUCKET,
      ORIGIN_HOST: origin.baseUrl,
      UPLOADER_LAMBDA_ARN: undefined,
      MIRROR_REPOSITORIES: undefined,
      RESCUE_URLS: undefined,
    });
  });

  afterAll(async () => {
    s3.destroy();
    await origin.close();
    await store.close();
    await rm(work, { recursive: true, force: true });
  });

  beforeEach(() => {
    origin.requests.length = 0;
    logs = captureLogs();
  });

  afterEach(() => {
    logs.restore();
  });

  it('stores the file a record names and answers no failures, its log line naming the message and the mirror run', async () => {
    const { path, bytes } = publish(origin);
    const message = record(bodyFor(path, bytes), 2);

    const answer = await invoke(sqsEvent(message));

    expect(answer).toEqual({ batchItemFailures: [] });
    expect(await stored(path)).toEqual(bytes);
    expect(downloadsOf(path)).toBe(1);
    expect(uploadLines()).toEqual([
      expect.objectContaining({
        level: 'INFO',
        outcome: 'stored',
        path,
        bytes: bytes.length,
        messageId: message.messageId,
        receiveCount: '2',
        triggeredBy: 'mirror:0123456789ab',
      }),
    ]);
    expect(JSON.stringify(logs.metrics())).toContain('"Outcome":"stored"');
  });

  it.each([
    ['a label with a space', 'two words'],
    ['a label too long to be one', `mirror:${'a'.repeat(130)}`],
    ['a number', 42],
  ])('does not label the lines of a record whose triggeredBy is %s', async (_name, triggeredBy) => {
    const { path, bytes } = publish(origin);

    const answer = await invoke(sqsEvent(record(JSON.stringify({ path, triggeredBy }))));

    expect(answer).toEqual({ batchItemFailures: [] });
    expect(await stored(path)).toEqual(bytes);
    const [line] = uploadLines();
    expect(line).toEqual(expect.objectContaining({ outcome: 'stored', path }));
    expect(line).not.toHaveProperty('triggeredBy');
  });

  it('names a record whose upload failed in batchItemFailures, and still stores the other record of the batch', async () => {
    const failing = publish(origin, 'failing');
    const fine = publish(origin, 'fine');
    origin.behaviours.set(failing.path, { kind: 'status', status: 500 });
    const failed = record(bodyFor(failing.path, failing.bytes));

    const answer = await invoke(sqsEvent(failed, record(bodyFor(fine.path, fine.bytes))));

    expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: failed.messageId }] });
    expect(await stored(failing.path)).toBeUndefined();
    expect(await stored(fine.path)).toEqual(fine.bytes);
    expect(uploadLines()).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        outcome: 'failed',
        path: failing.path,
        messageId: failed.messageId,
        error: expect.objectContaining({ name: 'OriginUnavailableError' }),
      }),
      expect.objectContaining({ level: 'INFO', outcome: 'stored', path: fine.path }),
    ]);
    // The failed run released its claim: SQS's next delivery, with the origin back, stores the file.
    origin.behaviours.delete(failing.path);
    expect(
      await invoke(sqsEvent({ ...failed, attributes: { ...failed.attributes, ApproximateReceiveCount: '2' } })),
    ).toEqual({ batchItemFailures: [] });
    expect(await stored(failing.path)).toEqual(failing.bytes);
  });

  it.each([
    ['a body that is not JSON', () => 'pub/a-1.0-1.noarch.rpm', 'the record body is not JSON'],
    ['a JSON body that is not an object', () => '["pub/a-1.0-1.noarch.rpm"]', 'event is not an object'],
    ['a body without path', () => JSON.stringify({ key: 'pub/a-1.0-1.noarch.rpm' }), 'event.path is missing'],
    ['a hostile path', () => JSON.stringify({ path: 'pub/../../etc/passwd.rpm' }), '"." or ".." segment'],
    ['a path the cache does not keep', () => JSON.stringify({ path: `${REPO}notes.txt` }), 'neither a cacheable'],
    [
      'an expect whose sha256 is not one',
      () => JSON.stringify({ path: `${REPO}Packages/a/a-1.0-1.noarch.rpm`, expect: { sha256: 'abc' } }),
      'expect.sha256 is not 64 lowercase hex digits',
    ],
    [
      'an expect whose size is negative',
      () =>
        JSON.stringify({ path: `${REPO}Packages/a/a-1.0-1.noarch.rpm`, expect: { sha256: 'a'.repeat(64), size: -1 } }),
      'expect.size is not a whole number of bytes',
    ],
    [
      'a repomd.xml (a snapshot, not a file to store)',
      () => JSON.stringify({ path: `${REPO}repodata/repomd.xml` }),
      'the mirror queue carries files to store, not repository snapshots',
    ],
  ])(
    'drops a record with %s (logged, not delivered again), and goes on with the batch',
    async (_name, body, reason) => {
      const malformed = record(body());
      const { path, bytes } = publish(origin);

      const answer = await invoke(sqsEvent(malformed, record(bodyFor(path, bytes))));

      expect(answer).toEqual({ batchItemFailures: [] });
      expect(await stored(path)).toEqual(bytes);
      expect(downloadsOf(path)).toBe(1);
      expect(origin.requests.filter(({ url }) => !decodeURIComponent(url).endsWith(path))).toEqual([]);
      const [rejected, upload] = uploadLines();
      expect(rejected).toEqual(
        expect.objectContaining({
          level: 'ERROR',
          outcome: 'rejected',
          reason: expect.stringContaining(reason),
          messageId: malformed.messageId,
        }),
      );
      expect(upload).toEqual(expect.objectContaining({ outcome: 'stored', path }));
      expect(upload?.messageId).not.toBe(malformed.messageId);
      // Each record counted under its own outcome, though one invocation took both.
      expect(uploadCounts()).toEqual([
        ['rejected', 1],
        ['stored', 1],
      ]);
    },
  );

  it("checks a record's download against the listing it carries (the snapshot that queued it): other bytes are refused, nothing stored", async () => {
    const { path, bytes } = publish(origin);
    // The origin now serves a valid RPM of that name, but not the bytes the snapshot listed.
    origin.files.set(path, syntheticRpmFor(path, { payloadBytes: 2049 }));

    const answer = await invoke(sqsEvent(record(bodyFor(path, bytes))));

    expect(answer).toEqual({ batchItemFailures: [] });
    expect(await stored(path)).toBeUndefined();
    expect(uploadLines()).toEqual([
      expect.objectContaining({ outcome: 'corrupt', reason: expect.stringContaining('the snapshot that queued it') }),
    ]);
  });

  it('names a record whose file another uploader holds the claim on, downloading nothing', async () => {
    const { path, bytes } = publish(origin);
    const expiresAt = Date.now() + 60_000;
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `claims/${path}`,
        Body: JSON.stringify({ owner: 'another-uploader-request', expiresAt }),
      }),
    );
    const held = record(bodyFor(path, bytes));

    const answer = await invoke(sqsEvent(held));

    expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: held.messageId }] });
    expect(downloadsOf(path)).toBe(0);
    expect(await stored(path)).toBeUndefined();
    expect(uploadLines()).toEqual([
      expect.objectContaining({
        outcome: 'claimed-elsewhere',
        path,
        messageId: held.messageId,
        reason: `held by another-uploader-request until ${new Date(expiresAt).toISOString()}`,
      }),
    ]);
  });

  it('answers a second delivery of a record whose file is stored already-cached, never downloading it twice', async () => {
    const { path, bytes } = publish(origin);
    const message = record(bodyFor(path, bytes));

    expect(await invoke(sqsEvent(message))).toEqual({ batchItemFailures: [] });
    // SQS delivers at least once: the same message again.
    expect(
      await invoke(sqsEvent({ ...message, attributes: { ...message.attributes, ApproximateReceiveCount: '2' } })),
    ).toEqual({ batchItemFailures: [] });

    expect(downloadsOf(path)).toBe(1);
    expect(await stored(path)).toEqual(bytes);
    expect(uploadLines().map(({ outcome, messageId }) => [outcome, messageId])).toEqual([
      ['stored', message.messageId],
      ['already-cached', message.messageId],
    ]);
  });

  it('still takes a plain async event, answering the upload itself', async () => {
    const { path, bytes } = publish(origin);

    const answer = await invoke({ path, triggeredBy: TEST_REQUEST_ID });

    expect(answer).toMatchObject({ outcome: 'stored', bytes: bytes.length });
    expect(await stored(path)).toEqual(bytes);
    expect(uploadLines()).toEqual([expect.objectContaining({ outcome: 'stored', path, triggeredBy: TEST_REQUEST_ID })]);
    expect(uploadLines()[0]).not.toHaveProperty('messageId');
  });

  it('leaves no key of one record on the next invocation’s lines', async () => {
    const first = publish(origin);
    await invoke(sqsEvent(record(bodyFor(first.path, first.bytes))));
    const second = publish(origin);
    logs.clear();

    await invoke({ path: second.path });

    const [line] = uploadLines();
    expect(line).toEqual(expect.objectContaining({ outcome: 'stored', path: second.path }));
    expect(line).not.toHaveProperty('messageId');
    expect(line).not.toHaveProperty('receiveCount');
    expect(line).not.toHaveProperty('triggeredBy');
  });

  it('takes an SQS event with no record as a malformed async event', async () => {
    const answer = await invoke({ Records: [] });

    expect(answer).toEqual({ outcome: 'rejected', reason: expect.stringContaining('event.path is missing') });
    expect(origin.requests).toEqual([]);
  });

  it('names a record whose download the origin cut short, storing nothing of it', async () => {
    const { path, bytes } = publish(origin);
    origin.behaviours.set(path, { kind: 'truncate', bytes: 100 });
    const cut = record(bodyFor(path, bytes));

    expect(await invoke(sqsEvent(cut))).toEqual({ batchItemFailures: [{ itemIdentifier: cut.messageId }] });
    expect(await stored(path)).toBeUndefined();
  });
});
