/**
 * Mirroring on snapshot, the fan-out: a snapshot taken for real (takeSnapshot
 * against a mirror on 127.0.0.1, into s3rver behind the local stack's
 * proxies), then mirrorSnapshot sends what it lists and the cache lacks to a
 * real SQS endpoint (the local stand-in), read back as the uploader would
 * get it. SQS's partial failures come from aws-sdk-client-mock.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  type BatchResultErrorEntry,
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  type SendMessageBatchResultEntry,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { isS3NotFound } from '../../src/commons/aws-errors.js';
import { type CacheConfig, parseCacheConfig } from '../../src/commons/config.js';
import { withBareBucketPaths } from '../../src/commons/s3-client.js';
import { LocalSqsService } from '../../src/local/sqs-service.js';
import { startEmbeddedS3 } from '../../src/local/stack.js';
import { rejectionReason } from '../../src/uploader/middlewares/uploader-event.js';
import { type MirrorDependencies, mirroredKey, mirrorSnapshot } from '../../src/uploader/mirror/fan-out.js';
import { sqsSender } from '../../src/uploader/mirror/sqs-sender.js';
import { takeSnapshot } from '../../src/uploader/snapshot/take.js';
import { OriginServer } from '../helpers/origin-server.js';
import { primaryXml } from '../helpers/primary-xml.js';
import { repository } from '../helpers/repository.js';
import { localStoreClient, S3RVER_CREDENTIALS } from '../helpers/s3rver.js';
import { syntheticRpmFor } from '../helpers/synthetic-rpm.js';
import { stackS3Client, startTestStack, type TestStack } from '../helpers/test-stack.js';

const BUCKET = 'rpm-cache-mirroring';
const UPLOADER = 'rpm-cache-uploader';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** `count` RPMs of a repository: href → bytes, named `pkg00-1.0-1.fc44.x86_64.rpm` and on. */
const rpmsOf = (count: number, prefix = 'pkg'): Map<string, Buffer> => {
  const rpms = new Map<string, Buffer>();
  for (let index = 0; index < count; index += 1) {
    const href = `Packages/p/${prefix}${String(index).padStart(2, '0')}-1.0-1.fc44.x86_64.rpm`;
    rpms.set(href, syntheticRpmFor(href, { payloadBytes: 64 }));
  }
  return rpms;
};

/** The uploader event mirroring queues for `href` of `repoDir`, as primaryXml lists it. */
const eventFor = (repoDir: string, href: string, bytes: Buffer, snapshotId: string) => {
  const name = href.slice(href.lastIndexOf('/') + 1).replace(/-1\.0-1\.fc44\.x86_64\.rpm$/, '');
  return {
    path: `${repoDir}${href}`,
    triggeredBy: `mirror:${snapshotId.slice(0, 12)}`,
    expect: { sha256: sha256(bytes), size: bytes.length, sourceRpm: `${name}-1.0-1.fc44.src.rpm` },
  };
};

const byPath = <T extends { path: string }>(events: readonly T[]): T[] =>
  [...events].sort((a, b) => a.path.localeCompare(b.path));

describe('mirrorSnapshot', () => {
  let work: string;
  let store: Awaited<ReturnType<typeof startEmbeddedS3>>;
  let s3: S3Client;
  let origin: OriginServer;
  let queue: LocalSqsService;
  let sqs: SQSClient;
  let config: CacheConfig;
  /** Every message the queue delivered, as the uploader would parse its body. */
  const delivered: unknown[] = [];
  /** The entries of each SendMessageBatch the real client sent. */
  const batches: SendMessageBatchCommandInput['Entries'][] = [];

  const deps = (client: SQSClient = sqs): MirrorDependencies => ({
    config,
    s3,
    sendMessageBatch: sqsSender(client),
    queueUrl: queue.queueUrl,
  });

  /** Puts `repoDir`'s metadata (listing `rpms`) and the RPMs on the mirror, then snapshots it; the snapshot's id. */
  const snapshot = async (repoDir: string, rpms: ReadonlyMap<string, Buffer>, revision = '1'): Promise<string> => {
    for (const [path, bytes] of repository(repoDir, { primary: gzipSync(primaryXml(rpms)) }, { revision })) {
      origin.files.set(path, bytes);
    }
    for (const [href, bytes] of rpms) origin.files.set(`${repoDir}${href}`, bytes);
    const result = await takeSnapshot(`${repoDir}repodata/repomd.xml`, { config, s3, originIdleTimeoutMs: 2000 });
    if (result.outcome !== 'stored' || result.snapshotId === undefined) {
      throw new Error(`no snapshot of ${repoDir}: ${JSON.stringify(result)}`);
    }
    return result.snapshotId;
  };

  const storeInCache = async (path: string, bytes: Buffer) => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `cache/${path}`, Body: bytes }));
  };

  const marker = async (repoDir: string, snapshotId: string): Promise<unknown> => {
    try {
      const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: mirroredKey(repoDir, snapshotId) }));
      return JSON.parse((await object.Body?.transformToString()) ?? '');
    } catch (error) {
      if (isS3NotFound(error)) return undefined;
      throw error;
    }
  };

  /** What the queue delivered since the last call, once every message sent so far has been. */
  const takeDelivered = async (): Promise<unknown[]> => {
    await queue.drain();
    return delivered.splice(0);
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'rpm-cache-mirroring-'));
    store = await startEmbeddedS3(join(work, 'data'), BUCKET);
    s3 = localStoreClient(store.endpoint);
    origin = await OriginServer.start();
    config = parseCacheConfig({ S3_BUCKET_NAME: BUCKET, ORIGIN_HOST: origin.baseUrl });
    queue = new LocalSqsService({
      functions: {
        [UPLOADER]: async (event) => {
          for (const record of (event as SQSEvent).Records) delivered.push(JSON.parse(record.body));
        },
      },
      functionName: UPLOADER,
      maxConcurrency: 4,
      region: 'eu-west-1',
    });
    const endpoint = await queue.listen();
    sqs = new SQSClient({ endpoint, region: 'eu-west-1' });
    sqs.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === SendMessageBatchCommand.name) {
          batches.push((args.input as SendMessageBatchCommandInput).Entries);
        }
        return next(args);
      },
      { step: 'initialize', name: 'recordBatches' },
    );
  });

  afterAll(async () => {
    sqs.destroy();
    s3.destroy();
    await queue.close(1000);
    await origin.close();
    await store.close();
    await rm(work, { recursive: true, force: true });
  });

  beforeEach(() => {
    delivered.length = 0;
    batches.length = 0;
  });

  it('queues exactly the RPMs the cache lacks, each as an uploader event with its listing, ten a batch at most', async () => {
    const repoDir = 'pub/fedora/linux/updates/44/Everything/x86_64/';
    const rpms = rpmsOf(27);
    const snapshotId = await snapshot(repoDir, rpms);
    const held = new Set(
      [0, 5, 6, 26].map((index) => `Packages/p/pkg${String(index).padStart(2, '0')}-1.0-1.fc44.x86_64.rpm`),
    );
    for (const [href, bytes] of rpms) if (held.has(href)) await storeInCache(`${repoDir}${href}`, bytes);
    // Stored but not listed (an older build): neither queued nor counted.
    await storeInCache(`${repoDir}Packages/p/pkg00-0.9-1.fc44.x86_64.rpm`, Buffer.from('older'));

    const result = await mirrorSnapshot(repoDir, snapshotId, deps());

    expect(result).toEqual({ outcome: 'queued', listed: 27, stored: 4, queued: 23, unfit: 0 });
    const missing = [...rpms].filter(([href]) => !held.has(href));
    expect(byPath((await takeDelivered()) as { path: string }[])).toEqual(
      byPath(missing.map(([href, bytes]) => eventFor(repoDir, href, bytes, snapshotId))),
    );
    expect(batches.map((entries) => entries?.length)).toEqual([10, 10, 3]);
    expect(await marker(repoDir, snapshotId)).toEqual({
      outcome: 'queued',
      listed: 27,
      stored: 4,
      queued: 23,
      unfit: 0,
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
  });

  it('answers already-queued the second time, sending nothing', async () => {
    const repoDir = 'pub/fedora/linux/updates/43/Everything/x86_64/';
    const snapshotId = await snapshot(repoDir, rpmsOf(3));
    expect(await mirrorSnapshot(repoDir, snapshotId, deps())).toMatchObject({ outcome: 'queued', queued: 3 });
    await takeDelivered();
    batches.length = 0;

    expect(await mirrorSnapshot(repoDir, snapshotId, deps())).toEqual({ outcome: 'already-queued' });
    expect(batches).toEqual([]);
    expect(await takeDelivered()).toEqual([]);
  });

  it('answers already-queued far more times than the S3 client has sockets (each look releases its connection)', async () => {
    const repoDir = 'pub/fedora/linux/updates/42/Everything/x86_64/';
    const snapshotId = await snapshot(repoDir, rpmsOf(1));
    await mirrorSnapshot(repoDir, snapshotId, deps());
    await takeDelivered();
    // A look that left its response unread would hold one of the 4 sockets for good: the 5th look would wait forever.
    const fewSockets = withBareBucketPaths(
      new S3Client({
        endpoint: store.endpoint,
        forcePathStyle: true,
        region: 'us-east-1',
        credentials: { ...S3RVER_CREDENTIALS },
        requestHandler: { httpAgent: { keepAlive: true, maxSockets: 4 } },
      }),
    );
    try {
      for (let look = 0; look < 12; look += 1) {
        expect(await mirrorSnapshot(repoDir, snapshotId, { ...deps(), s3: fewSockets })).toEqual({
          outcome: 'already-queued',
        });
      }
    } finally {
      fewSockets.destroy();
    }
  }, 10_000);

  it('answers superseded for a snapshot that is no longer current, sending nothing and marking nothing', async () => {
    const repoDir = 'pub/fedora/linux/updates/41/Everything/x86_64/';
    const first = await snapshot(repoDir, rpmsOf(2), '1');
    const second = await snapshot(repoDir, rpmsOf(3), '2');
    expect(second).not.toBe(first);

    expect(await mirrorSnapshot(repoDir, first, deps())).toEqual({ outcome: 'superseded' });
    expect(batches).toEqual([]);
    expect(await marker(repoDir, first)).toBeUndefined();
    // The current one is still mirrored, in full.
    expect(await mirrorSnapshot(repoDir, second, deps())).toMatchObject({ outcome: 'queued', queued: 3 });
    expect(await takeDelivered()).toHaveLength(3);
  });

  it('answers superseded for a repository with no snapshot at all', async () => {
    expect(await mirrorSnapshot('pub/never/', 'a'.repeat(64), deps())).toEqual({ outcome: 'superseded' });
    expect(batches).toEqual([]);
  });

  it('counts listed files whose path the cache cannot take as unfit, and never queues them', async () => {
    const repoDir = 'pub/epel/10/Everything/x86_64/';
    const good = rpmsOf(2, 'good');
    const listing = new Map([
      ...good,
      ['../../escape/Packages/e/evil-1.0-1.fc44.x86_64.rpm', Buffer.from('a')],
      ['Packages/e/../../../evil-1.0-1.fc44.x86_64.rpm', Buffer.from('b')],
      ['/etc/Packages/abs-1.0-1.fc44.x86_64.rpm', Buffer.from('c')],
      ['Packages/d/notes-1.0-1.fc44.x86_64.txt', Buffer.from('d')],
      ['Packages/d/delta-1.0-1.fc44.x86_64.drpm.sig', Buffer.from('e')],
      ['Packages//double-1.0-1.fc44.x86_64.rpm', Buffer.from('f')],
      ['Packages/./dot-1.0-1.fc44.x86_64.rpm', Buffer.from('g')],
      ['Packages/b/back\\slash-1.0-1.fc44.x86_64.rpm', Buffer.from('h')],
    ]);
    for (const [path, bytes] of repository(repoDir, { primary: gzipSync(primaryXml(listing)) })) {
      origin.files.set(path, bytes);
    }
    const taken = await takeSnapshot(`${repoDir}repodata/repomd.xml`, { config, s3, originIdleTimeoutMs: 2000 });
    const snapshotId = taken.snapshotId ?? '';

    const result = await mirrorSnapshot(repoDir, snapshotId, deps());

    expect(result).toEqual({ outcome: 'queued', listed: 10, stored: 0, queued: 2, unfit: 8 });
    expect(byPath((await takeDelivered()) as { path: string }[])).toEqual(
      byPath([...good].map(([href, bytes]) => eventFor(repoDir, href, bytes, snapshotId))),
    );
    expect(await marker(repoDir, snapshotId)).toMatchObject({ listed: 10, queued: 2, unfit: 8 });
  });

  it("counts a package at another base URL (xml:base) as unfit: it is not this repository's file", async () => {
    const repoDir = 'pub/based/elsewhere/x86_64/';
    const rpms = rpmsOf(2, 'based');
    const [[baseHref = ''] = []] = [...rpms];
    const xml = primaryXml(rpms).replace(
      `<location href="${baseHref}"/>`,
      `<location xml:base="https://elsewhere.example/repo/" href="${baseHref}"/>`,
    );
    for (const [path, bytes] of repository(repoDir, { primary: gzipSync(xml) })) origin.files.set(path, bytes);
    const taken = await takeSnapshot(`${repoDir}repodata/repomd.xml`, { config, s3, originIdleTimeoutMs: 2000 });

    expect(taken).toMatchObject({ outcome: 'stored' });
    expect(await mirrorSnapshot(repoDir, taken.snapshotId ?? '', deps())).toMatchObject({
      outcome: 'queued',
      listed: 2,
      queued: 1,
      unfit: 1,
    });
    const events = (await takeDelivered()) as { path: string }[];
    expect(events.map(({ path }) => path)).not.toContain(`${repoDir}${baseHref}`);
  });

  it('marks a snapshot whose primary.xml is in a compression Node cannot read as unreadable, once', async () => {
    const repoDir = 'pub/xz/42/Everything/x86_64/';
    const rpms = rpmsOf(2, 'xz');
    for (const [path, bytes] of repository(
      repoDir,
      { primary: Buffer.from(primaryXml(rpms)) },
      { extension: 'xml.xz' },
    )) {
      origin.files.set(path, bytes);
    }
    const taken = await takeSnapshot(`${repoDir}repodata/repomd.xml`, { config, s3, originIdleTimeoutMs: 2000 });
    const snapshotId = taken.snapshotId ?? '';
    expect(taken).toMatchObject({ outcome: 'stored' });

    const result = await mirrorSnapshot(repoDir, snapshotId, deps());
    expect(result).toEqual({
      outcome: 'unreadable',
      reason: expect.stringContaining('compressed in a format Node cannot read'),
    });
    expect(await marker(repoDir, snapshotId)).toMatchObject({ outcome: 'unreadable' });
    expect(batches).toEqual([]);
    expect(await mirrorSnapshot(repoDir, snapshotId, deps())).toEqual({ outcome: 'already-queued' });
  });

  it('queues a source package (its own entry names no source RPM) as an event the uploader takes', async () => {
    const repoDir = 'pub/fedora/linux/updates/44/Everything/source/tree/';
    const href = 'Packages/s/srcpkg-1.0-1.fc44.src.rpm';
    const rpms = new Map([[href, syntheticRpmFor(href, { payloadBytes: 64 })]]);
    const xml = primaryXml(rpms).replace(/<rpm:sourcerpm>[^<]*<\/rpm:sourcerpm>/, '<rpm:sourcerpm></rpm:sourcerpm>');
    for (const [path, bytes] of repository(repoDir, { primary: gzipSync(xml) })) origin.files.set(path, bytes);
    const taken = await takeSnapshot(`${repoDir}repodata/repomd.xml`, { config, s3, originIdleTimeoutMs: 2000 });

    expect(await mirrorSnapshot(repoDir, taken.snapshotId ?? '', deps())).toMatchObject({ queued: 1, unfit: 0 });
    const [event] = await takeDelivered();
    expect(event).toMatchObject({ path: `${repoDir}${href}`, expect: { sha256: expect.any(String) } });
    expect(event).not.toHaveProperty('expect.sourceRpm');
    expect(rejectionReason(event, ['.rpm'])).toBeUndefined();
  });

  it('queues a package listed with another checksum than SHA-256 without an expectation', async () => {
    const repoDir = 'pub/archive/fedora/linux/releases/20/Everything/x86_64/os/';
    const rpms = rpmsOf(2, 'old');
    const [sha1Href = '', sha1Bytes = Buffer.alloc(0)] = [...rpms][0] ?? [];
    const sha1 = createHash('sha1').update(sha1Bytes).digest('hex');
    // As old createrepo wrote it: type "sha" is SHA-1.
    const xml = primaryXml(rpms).replace(
      `<checksum type="sha256" pkgid="YES">${sha256(sha1Bytes)}</checksum>`,
      `<checksum type="sha" pkgid="YES">${sha1}</checksum>`,
    );
    for (const [path, bytes] of repository(repoDir, { primary: gzipSync(xml) })) origin.files.set(path, bytes);
    const taken = await takeSnapshot(`${repoDir}repodata/repomd.xml`, { config, s3, originIdleTimeoutMs: 2000 });
    const snapshotId = taken.snapshotId ?? '';

    expect(await mirrorSnapshot(repoDir, snapshotId, deps())).toMatchObject({ outcome: 'queued', queued: 2 });

    const events = byPath((await takeDelivered()) as { path: string }[]);
    expect(events).toEqual(
      byPath([
        { path: `${repoDir}${sha1Href}`, triggeredBy: `mirror:${snapshotId.slice(0, 12)}` },
        ...[...rpms].slice(1).map(([href, bytes]) => eventFor(repoDir, href, bytes, snapshotId)),
      ]),
    );
  });

  it('throws when the snapshot primary.xml cannot be read, leaving no marker', async () => {
    const repoDir = 'pub/fedora/linux/updates/40/Everything/x86_64/';
    const snapshotId = await snapshot(repoDir, rpmsOf(2));
    // The snapshot's primary, broken in the store (a truncated blob): gunzip fails.
    const current = await s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: `snapshots/current/${repoDir}repodata/repomd.xml` }),
    );
    const manifest = JSON.parse((await current.Body?.transformToString()) ?? '{}') as {
      files: Record<string, { key: string }>;
    };
    const primary = Object.entries(manifest.files).find(([file]) => file.endsWith('primary.xml.gz'))?.[1].key;
    if (primary === undefined) throw new Error('the manifest names no primary');
    const gzipped = gzipSync(primaryXml(rpmsOf(2)));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: primary, Body: gzipped.subarray(0, 30) }));

    await expect(mirrorSnapshot(repoDir, snapshotId, deps())).rejects.toThrow();
    expect(await marker(repoDir, snapshotId)).toBeUndefined();
    expect(batches).toEqual([]);
  });

  it('throws the first error when the primary and the cache listing both fail, leaving no rejection unhandled', async () => {
    const repoDir = 'pub/fedora/linux/updates/38/Everything/x86_64/';
    const snapshotId = await snapshot(repoDir, rpmsOf(2));
    let primaryFailed: () => void = () => undefined;
    const primaryFailure = new Promise<void>((resolve) => {
      primaryFailed = resolve;
    });
    let listingFailed: () => void = () => undefined;
    const listingFailure = new Promise<void>((resolve) => {
      listingFailed = resolve;
    });
    const broken = localStoreClient(store.endpoint);
    broken.middlewareStack.add(
      (next, context) => async (args) => {
        const { Key } = args.input as { Key?: string };
        if (context.commandName === GetObjectCommand.name && Key?.startsWith('snapshots/blobs/')) {
          setImmediate(primaryFailed);
          throw new Error('the snapshot blob is unreadable');
        }
        if (context.commandName === ListObjectsV2Command.name) {
          // An S3 outage: the listing fails too, after the primary did.
          await primaryFailure;
          setImmediate(listingFailed);
          throw new Error('the listing is refused');
        }
        return next(args);
      },
      { step: 'initialize', name: 'breakReads' },
    );
    try {
      await expect(mirrorSnapshot(repoDir, snapshotId, { ...deps(), s3: broken })).rejects.toThrow(
        'the snapshot blob is unreadable',
      );
      await listingFailure;
      // A rejection nobody handled is reported once the microtasks ran: jest then fails this test.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      broken.destroy();
    }
    expect(await marker(repoDir, snapshotId)).toBeUndefined();
    expect(batches).toEqual([]);
  });

  describe('when SQS fails', () => {
    const mocked = new SQSClient({ region: 'eu-west-1' });
    const sqsMock = mockClient(mocked);
    /** How many times each message body was sent, and how many of those SQS took. */
    const sends = new Map<string, { sent: number; taken: number }>();

    /** SendMessageBatch failing an entry whose body `failures(body, attempt)` says to, with SQS's own fields. */
    const answering = (fails: (path: string, attempt: number) => boolean) => (input: SendMessageBatchCommandInput) => {
      const Successful: SendMessageBatchResultEntry[] = [];
      const Failed: BatchResultErrorEntry[] = [];
      for (const { Id = '', MessageBody = '' } of input.Entries ?? []) {
        const count = sends.get(MessageBody) ?? { sent: 0, taken: 0 };
        count.sent += 1;
        sends.set(MessageBody, count);
        if (fails((JSON.parse(MessageBody) as { path: string }).path, count.sent)) {
          Failed.push({ Id, SenderFault: false, Code: 'InternalError', Message: 'try again' });
        } else {
          count.taken += 1;
          Successful.push({ Id, MessageId: `m-${count.sent}-${Id}`, MD5OfMessageBody: '0'.repeat(32) });
        }
      }
      return { Successful, Failed };
    };
    const calls = () => sqsMock.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input);
    const pathsOf = (input: SendMessageBatchCommandInput) =>
      (input.Entries ?? []).map(({ MessageBody = '' }) => (JSON.parse(MessageBody) as { path: string }).path).sort();

    beforeEach(() => {
      sends.clear();
      sqsMock.reset();
    });

    afterAll(() => {
      sqsMock.restore();
      mocked.destroy();
    });

    it('sends the entries SQS failed again, and only them, until it takes them', async () => {
      const repoDir = 'pub/fedora/linux/updates/39/Everything/x86_64/';
      const rpms = rpmsOf(12, 'flaky');
      const snapshotId = await snapshot(repoDir, rpms);
      const once = `${repoDir}Packages/p/flaky01-1.0-1.fc44.x86_64.rpm`;
      const twice = `${repoDir}Packages/p/flaky03-1.0-1.fc44.x86_64.rpm`;
      sqsMock
        .on(SendMessageBatchCommand)
        .callsFake(answering((path, attempt) => (path === once && attempt === 1) || (path === twice && attempt <= 2)));

      const result = await mirrorSnapshot(repoDir, snapshotId, deps(mocked));

      expect(result).toEqual({ outcome: 'queued', listed: 12, stored: 0, queued: 12, unfit: 0 });
      // Two batches (10 and 2), the first one's failures again, then the one still failing.
      expect(calls().map(pathsOf)).toEqual(expect.arrayContaining([[once, twice].sort(), [twice]]));
      expect(
        calls()
          .map((input) => input.Entries?.length ?? 0)
          .sort((a, b) => a - b),
      ).toEqual([1, 2, 2, 10]);
      // Each RPM taken by SQS exactly once, with the same body each time it was sent.
      expect([...sends.values()].map(({ taken }) => taken)).toEqual(Array(12).fill(1));
      expect([...sends.keys()].map((body) => (JSON.parse(body) as { path: string }).path).sort()).toEqual(
        [...rpms.keys()].map((href) => `${repoDir}${href}`).sort(),
      );
      expect(await marker(repoDir, snapshotId)).toMatchObject({ queued: 12 });
    });

    it('throws after three attempts at an entry SQS keeps failing, with no marker: the next run queues it', async () => {
      const repoDir = 'pub/fedora/linux/updates/37/Everything/x86_64/';
      const rpms = rpmsOf(4, 'stuck');
      const snapshotId = await snapshot(repoDir, rpms);
      const stuck = `${repoDir}Packages/p/stuck02-1.0-1.fc44.x86_64.rpm`;
      sqsMock.on(SendMessageBatchCommand).callsFake(answering((path) => path === stuck));

      await expect(mirrorSnapshot(repoDir, snapshotId, deps(mocked))).rejects.toThrow(
        'SQS refused 1 mirror uploads: InternalError try again',
      );

      expect([...sends].filter(([body]) => body.includes(stuck)).map(([, count]) => count)).toEqual([
        { sent: 3, taken: 0 },
      ]);
      expect(calls().map(pathsOf)).toEqual([
        [...rpms.keys()].map((href) => `${repoDir}${href}`).sort(),
        [stuck],
        [stuck],
      ]);
      expect(await marker(repoDir, snapshotId)).toBeUndefined();

      // Lambda's retry (or the next check of the repository) finds no marker and queues the snapshot again.
      const again = await mirrorSnapshot(repoDir, snapshotId, deps());
      expect(again).toEqual({ outcome: 'queued', listed: 4, stored: 0, queued: 4, unfit: 0 });
      expect(byPath((await takeDelivered()) as { path: string }[])).toEqual(
        byPath([...rpms].map(([href, bytes]) => eventFor(repoDir, href, bytes, snapshotId))),
      );
      expect(await marker(repoDir, snapshotId)).toMatchObject({ queued: 4 });
    });

    it('throws when SendMessageBatch itself fails, with no marker', async () => {
      const repoDir = 'pub/fedora/linux/updates/36/Everything/x86_64/';
      const snapshotId = await snapshot(repoDir, rpmsOf(3, 'down'));
      sqsMock.on(SendMessageBatchCommand).rejects(new Error('connect ECONNREFUSED'));

      await expect(mirrorSnapshot(repoDir, snapshotId, deps(mocked))).rejects.toThrow('connect ECONNREFUSED');
      expect(await marker(repoDir, snapshotId)).toBeUndefined();
    });
  });

  describe('through the local stack (MIRROR_REPOSITORIES, MIRROR_CONCURRENCY=3)', () => {
    const repoDir = 'pub/fedora/linux/updates/44/Everything/aarch64/';
    const rpms = rpmsOf(30, 'stack');
    let test: TestStack;

    const cacheUrl = (path: string) => `${test.stack.url}/${path.split('/').map(encodeURIComponent).join('/')}`;

    beforeAll(async () => {
      test = await startTestStack({ MIRROR_REPOSITORIES: repoDir, MIRROR_CONCURRENCY: '3' });
      for (const [path, bytes] of repository(repoDir, { primary: gzipSync(primaryXml(rpms)) })) {
        test.origin.files.set(path, bytes);
      }
      for (const [href, bytes] of rpms) test.origin.files.set(`${repoDir}${href}`, bytes);
    });

    afterAll(async () => {
      await test?.close();
    });

    it('a request for repomd.xml snapshots the repository and mirrors every RPM it lists, 3 at a time, each downloaded once', async () => {
      const answer = await fetch(cacheUrl(`${repoDir}repodata/repomd.xml`), { redirect: 'manual' });
      await answer.arrayBuffer();
      await test.stack.drain();

      const store = stackS3Client(test.stack);
      try {
        for (const [href, bytes] of rpms) {
          const object = await store.send(
            new GetObjectCommand({ Bucket: test.stack.bucketName, Key: `cache/${repoDir}${href}` }),
          );
          expect(Buffer.from((await object.Body?.transformToByteArray()) ?? [])).toEqual(bytes);
        }
      } finally {
        store.destroy();
      }
      const stats = test.stack.mirrorQueue.stats();
      expect(stats).toMatchObject({ sent: 30, delivered: 30, deadLettered: 0, dropped: 0, inFlight: 0 });
      expect(stats.peakInFlight).toBeLessThanOrEqual(3);
      // Thirty messages arrive ten at a time: the mapping runs as many as it may.
      expect(stats.peakInFlight).toBe(3);
      const downloads = test.origin
        .requestsFor('GET')
        .map(({ url }) => decodeURIComponent(url).slice(1))
        .filter((path) => path.endsWith('.rpm'));
      expect(downloads.sort()).toEqual([...rpms.keys()].map((href) => `${repoDir}${href}`).sort());
      expect(test.logs.linesOf('mirror')).toEqual([
        expect.objectContaining({
          outcome: 'queued',
          repository: repoDir,
          listed: 30,
          stored: 0,
          queued: 30,
          unfit: 0,
        }),
      ]);
    }, 60_000);

    it('serves every RPM from the cache once the origin drops them, byte for byte', async () => {
      for (const href of rpms.keys()) test.origin.files.delete(`${repoDir}${href}`);

      for (const [href, bytes] of rpms) {
        const answer = await fetch(cacheUrl(`${repoDir}${href}`), { redirect: 'manual' });
        await answer.arrayBuffer();
        expect(answer.status).toBe(302);
        expect(answer.headers.get('x-cache')).toBe('hit');
        const location = answer.headers.get('location') ?? '';
        expect(location.startsWith(test.stack.s3Endpoint)).toBe(true);
        const copy = await fetch(location);
        expect(copy.status).toBe(200);
        expect(Buffer.from(await copy.arrayBuffer())).toEqual(bytes);
      }
      await test.stack.drain();
      // Nothing was queued or downloaded again.
      expect(test.stack.mirrorQueue.stats()).toMatchObject({ sent: 30 });
      expect(test.origin.requestsFor('GET').filter(({ url }) => url.endsWith('.rpm'))).toHaveLength(30);
    }, 60_000);
  });
});
