/**
 * The history of a repository's snapshots and `/@<time>/` answers, against a
 * real S3-compatible store (s3rver behind the local stack's conditional-write
 * and tagging proxies) and a real HTTP mirror: the uploader writes the
 * history, the handler's lookup and listing read it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectTaggingCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { parseCacheConfig } from '../../src/commons/config.js';
import { repodataPath } from '../../src/commons/repodata.js';
import { historyPrefix, writeHistoryEntry } from '../../src/commons/snapshot-history.js';
import { readCurrentSnapshot, type SnapshotManifest } from '../../src/commons/snapshot-manifest.js';
import { answerAt, answerListing } from '../../src/handler/time-travel/answer.js';
import { listSnapshots } from '../../src/handler/time-travel/listing.js';
import { findSnapshotAt } from '../../src/handler/time-travel/snapshot-at.js';
import { startEmbeddedS3 } from '../../src/local/stack.js';
import { takeSnapshot } from '../../src/uploader/snapshot/take.js';
import { OriginServer } from '../helpers/origin-server.js';
import { repository } from '../helpers/repository.js';
import { localStoreClient } from '../helpers/s3rver.js';

const BUCKET = 'rpm-cache-history';

describe('snapshot history and time travel', () => {
  let work: string;
  let store: Awaited<ReturnType<typeof startEmbeddedS3>>;
  let s3: S3Client;
  let origin: OriginServer;
  let repoCount = 0;

  const config = (historyDays = 90) =>
    parseCacheConfig({
      S3_BUCKET_NAME: BUCKET,
      ORIGIN_HOST: origin.baseUrl,
      SNAPSHOT_HISTORY_DAYS: String(historyDays),
    });
  const serve = (files: Map<string, Buffer>) => {
    origin.files.clear();
    for (const [path, bytes] of files) origin.files.set(path, bytes);
  };
  const freshRepo = () => {
    repoCount += 1;
    return `pub/history-${repoCount}/x86_64/`;
  };
  /** Takes a snapshot of what the origin serves now, as if the clock said `at`. */
  const snapshotAt = async (repoDir: string, at: string) => {
    const result = await takeSnapshot(`${repoDir}repodata/repomd.xml`, {
      config: config(),
      s3,
      originIdleTimeoutMs: 500,
      now: () => new Date(at),
    });
    return result;
  };
  const tagOf = async (key: string) =>
    (await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: key }))).TagSet?.find(
      (tag) => tag.Key === 'rpm-cache-snapshot',
    )?.Value;
  const keysUnder = async (prefix: string) =>
    ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }))).Contents ?? []).map(
      ({ Key }) => Key ?? '',
    );
  /** Three versions of one repository, made current on Nov 1, Nov 10 and Nov 20 at noon. */
  const threeVersions = async () => {
    const repoDir = freshRepo();
    const shared = randomBytes(800);
    const versions = [
      repository(repoDir, { primary: randomBytes(1000), other: shared }, { revision: '100' }),
      repository(repoDir, { primary: randomBytes(1100), other: shared }, { revision: '200' }),
      repository(repoDir, { primary: randomBytes(1200), updateinfo: randomBytes(300) }, { revision: '300' }),
    ];
    const times = ['2026-11-01T12:00:00Z', '2026-11-10T12:00:00Z', '2026-11-20T12:00:00Z'];
    const ids: string[] = [];
    for (const [index, version] of versions.entries()) {
      serve(version);
      const result = await snapshotAt(repoDir, times[index] ?? '');
      expect(result.outcome).toBe('stored');
      ids.push(result.snapshotId ?? '');
    }
    return { repoDir, versions, ids };
  };
  const window = (now: string, historyDays = 90) => ({ historyDays, now: Date.parse(now) });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'rpm-cache-history-'));
    store = await startEmbeddedS3(join(work, 'data'), BUCKET);
    s3 = localStoreClient(store.endpoint);
    origin = await OriginServer.start();
  });

  afterAll(async () => {
    s3.destroy();
    await origin.close();
    await store.close();
    await rm(work, { recursive: true, force: true });
  });

  describe('the history the uploader writes', () => {
    it('keeps one entry per snapshot that became current, tagged history, named by time, repomd.xml and revision', async () => {
      const { repoDir, ids } = await threeVersions();

      const entries = await keysUnder(historyPrefix(repoDir));
      expect(entries).toEqual([
        `${historyPrefix(repoDir)}20261101T120000Z_${ids[0]}_100.json`,
        `${historyPrefix(repoDir)}20261110T120000Z_${ids[1]}_200.json`,
        `${historyPrefix(repoDir)}20261120T120000Z_${ids[2]}_300.json`,
      ]);
      for (const key of entries) expect(await tagOf(key)).toBe('history');
    });

    it('stores a file two snapshots list once, and retires a superseded file as history, not as a leftover', async () => {
      const { repoDir } = await threeVersions();

      const blobs = await keysUnder(`snapshots/blobs/${repoDir}`);
      // 3 repomd.xml, 3 primary, 1 shared `other`, 1 updateinfo.
      expect(blobs).toHaveLength(8);
      const current = (await readCurrentSnapshot(s3, BUCKET, repoDir))?.manifest as SnapshotManifest;
      const currentKeys = new Set(Object.values(current.files).map(({ key }) => key));
      for (const key of blobs) expect(await tagOf(key)).toBe(currentKeys.has(key) ? 'current' : 'history');
    });

    it('gives a snapshot made in the same second as the one it supersedes the next second: times only go forward', async () => {
      const repoDir = freshRepo();
      serve(repository(repoDir, { primary: randomBytes(100) }, { revision: '1' }));
      await snapshotAt(repoDir, '2026-11-05T08:00:00.100Z');
      serve(repository(repoDir, { primary: randomBytes(100) }, { revision: '2' }));
      await snapshotAt(repoDir, '2026-11-05T08:00:00.900Z');

      const listed = await listSnapshots(s3, { bucket: BUCKET, repoDir }, window('2026-11-06T00:00:00Z'));
      expect(listed.map(({ time }) => time)).toEqual(['20261105T080001Z', '20261105T080000Z']);
    });

    it('records a check that found the current snapshot still current, and the listing shows it', async () => {
      const { repoDir, versions, ids } = await threeVersions();
      serve(versions[2] ?? new Map());
      expect((await snapshotAt(repoDir, '2026-11-25T06:30:00Z')).outcome).toBe('already-current');

      const [newest] = await listSnapshots(s3, { bucket: BUCKET, repoDir }, window('2026-11-26T00:00:00Z'));
      expect(newest).toMatchObject({ time: '20261120T120000Z', current: true, checkedAt: '20261125T063000Z' });
      expect(newest?.repomdSha256).toBe(ids[2]);
    });
  });

  describe('the snapshot current at a time', () => {
    it('is the last one that became current at or before it', async () => {
      const { repoDir, ids } = await threeVersions();
      const at = (time: string) =>
        findSnapshotAt(s3, { bucket: BUCKET, repoDir, time }, window('2026-12-01T00:00:00Z'));

      expect(await at('20261101T115959Z')).toEqual({ kind: 'before-history', first: '20261101T120000Z' });
      expect(await at('20261101T120000Z')).toMatchObject({
        kind: 'found',
        snapshot: { id: ids[0], time: '20261101T120000Z', until: '20261110T120000Z', revision: '100' },
      });
      expect(await at('20261105T000000Z')).toMatchObject({ snapshot: { id: ids[0] } });
      expect(await at('20261110T115959Z')).toMatchObject({ snapshot: { id: ids[0] } });
      expect(await at('20261110T120000Z')).toMatchObject({ snapshot: { id: ids[1], until: '20261120T120000Z' } });
      const current = await at('20261130T000000Z');
      expect(current).toMatchObject({ kind: 'found', snapshot: { id: ids[2], time: '20261120T120000Z' } });
      expect(current.kind === 'found' && 'until' in current.snapshot).toBe(false);
    });

    it('leaves a snapshot superseded more than SNAPSHOT_HISTORY_DAYS ago out, naming the oldest one kept', async () => {
      const { repoDir, ids } = await threeVersions();
      const at = (time: string, now: string) => findSnapshotAt(s3, { bucket: BUCKET, repoDir, time }, window(now, 30));

      // Nov 1's snapshot was superseded on Nov 10: kept until Dec 10.
      expect(await at('20261105T000000Z', '2026-12-10T11:59:59Z')).toMatchObject({ snapshot: { id: ids[0] } });
      expect(await at('20261105T000000Z', '2026-12-10T12:00:00Z')).toEqual({
        kind: 'before-history',
        first: '20261110T120000Z',
      });
      expect(await at('20261115T000000Z', '2026-12-10T12:00:00Z')).toMatchObject({ snapshot: { id: ids[1] } });
      // 0 keeps every snapshot.
      expect(
        await findSnapshotAt(
          s3,
          { bucket: BUCKET, repoDir, time: '20261105T000000Z' },
          window('2036-01-01T00:00:00Z', 0),
        ),
      ).toMatchObject({ snapshot: { id: ids[0] } });
    });

    it('says when the cache holds no snapshot of the repository', async () => {
      expect(
        await findSnapshotAt(
          s3,
          { bucket: BUCKET, repoDir: 'pub/never/', time: '20261101T000000Z' },
          window('2026-12-01T00:00:00Z'),
        ),
      ).toEqual({ kind: 'no-history' });
    });

    it('costs two S3 requests whether the history holds three snapshots or three hundred', async () => {
      const repoDir = freshRepo();
      const start = Date.parse('2026-01-01T00:00:00Z');
      let previous: SnapshotManifest | undefined;
      for (let index = 0; index < 300; index += 1) {
        const createdAt = new Date(start + index * 3_600_000).toISOString().replace('.000', '');
        const manifest: SnapshotManifest = {
          id: index.toString(16).padStart(64, '0'),
          createdAt,
          validators: {},
          files: { 'repodata/repomd.xml': { key: `blob-${index}`, contentNamed: false } },
          absent: [],
          settled: true,
          ...(previous === undefined
            ? {}
            : { previous: { id: previous.id, files: previous.files, createdAt: previous.createdAt, absent: [] } }),
        };
        await writeHistoryEntry(s3, { bucket: BUCKET, repoDir, manifest });
        previous = manifest;
      }
      const counted = localStoreClient(store.endpoint);
      const requests: string[] = [];
      counted.middlewareStack.add(
        (next, context) => async (args) => {
          requests.push(context.commandName ?? '');
          return next(args);
        },
        { step: 'initialize', name: 'countRequests' },
      );

      const times = ['20260101T003000Z', '20260106T050000Z', '20260113T103000Z'];
      const found = [];
      for (const time of times) {
        requests.length = 0;
        found.push(await findSnapshotAt(counted, { bucket: BUCKET, repoDir, time }, window('2026-02-01T00:00:00Z', 0)));
        expect(requests).toEqual(['ListObjectsV2Command', 'GetObjectCommand']);
      }
      expect(found.map((result) => result.kind === 'found' && result.snapshot.id)).toEqual(
        [0, 125, 298].map((index) => index.toString(16).padStart(64, '0')),
      );
      counted.destroy();
    });
  });

  describe('answers under /@<time>/', () => {
    const deps = (now: string) => ({ config: config(), s3, now: () => Date.parse(now) });
    const asked = (path: string, time: string) => {
      const repodata = repodataPath(path);
      if (repodata === undefined) throw new Error(`not repository metadata: ${path}`);
      const at = new Date(
        `${time.slice(0, 4)}-${time.slice(4, 6)}-${time.slice(6, 8)}T${time.slice(9, 11)}:${time.slice(11, 13)}:${time.slice(13, 15)}Z`,
      );
      return { time, at, repodata };
    };

    it('redirects to the stored copy of the snapshot current then, and says which snapshot it is', async () => {
      const { repoDir, versions } = await threeVersions();
      const repomd = `${repoDir}repodata/repomd.xml`;

      const answer = await answerAt(asked(repomd, '20261112T000000Z'), deps('2026-12-01T00:00:00Z'), {
        method: 'GET',
        accept: undefined,
      });

      expect(answer.outcome).toBe('served');
      expect(answer.response.statusCode).toBe(302);
      expect(answer.response.headers).toMatchObject({ 'X-Cache-Snapshot': '20261110T120000Z' });
      const location = String(answer.response.headers?.Location);
      const body = Buffer.from(await (await fetch(location)).arrayBuffer());
      expect(body).toEqual(versions[1]?.get(repomd));
    });

    it('answers 404 for a file that snapshot does not hold, a time before the history and a time in the future', async () => {
      const { repoDir, versions } = await threeVersions();
      const updateinfo = [...(versions[2]?.keys() ?? [])].find((path) => path.includes('updateinfo')) ?? '';
      const now = deps('2026-12-01T00:00:00Z');
      const get = { method: 'GET', accept: undefined } as const;

      const notHeld = await answerAt(asked(updateinfo, '20261112T000000Z'), now, get);
      expect(notHeld).toMatchObject({ outcome: 'not-in-snapshot', response: { statusCode: 404 } });
      expect(notHeld.response.headers).toMatchObject({ 'X-Cache-Snapshot': '20261110T120000Z' });
      const before = await answerAt(asked(`${repoDir}repodata/repomd.xml`, '20261001T000000Z'), now, get);
      expect(before).toMatchObject({ outcome: 'before-history', response: { statusCode: 404 } });
      expect(String(before.response.body)).toContain('20261101T120000Z');
      const future = await answerAt(asked(`${repoDir}repodata/repomd.xml`, '20261201T000001Z'), now, get);
      expect(future).toMatchObject({ outcome: 'future', response: { statusCode: 404 } });
      // The last seconds could still change too (a commit in flight, two Lambdas' clocks).
      const recent = await answerAt(asked(`${repoDir}repodata/repomd.xml`, '20261130T235955Z'), now, get);
      expect(recent).toMatchObject({ outcome: 'future', response: { statusCode: 404 } });
      const settled = await answerAt(asked(`${repoDir}repodata/repomd.xml`, '20261130T235950Z'), now, get);
      expect(settled).toMatchObject({ outcome: 'served' });
    });

    it('lists the snapshots newest first, as JSON for tools and as a page for people', async () => {
      const { repoDir, ids } = await threeVersions();
      const now = deps('2026-12-01T00:00:00Z');

      const json = await answerListing(repoDir, now, { method: 'GET', accept: 'application/json' });
      expect(json.response.statusCode).toBe(200);
      expect(json.response.headers).toMatchObject({ 'Content-Type': 'application/json' });
      expect(JSON.parse(String(json.response.body))).toEqual({
        repository: repoDir,
        snapshots: [
          {
            time: '20261120T120000Z',
            current: true,
            revision: '300',
            repomdSha256: ids[2],
            path: `/@20261120T120000Z/${repoDir}`,
          },
          {
            time: '20261110T120000Z',
            current: false,
            until: '20261120T120000Z',
            revision: '200',
            repomdSha256: ids[1],
            path: `/@20261110T120000Z/${repoDir}`,
          },
          {
            time: '20261101T120000Z',
            current: false,
            until: '20261110T120000Z',
            revision: '100',
            repomdSha256: ids[0],
            path: `/@20261101T120000Z/${repoDir}`,
          },
        ],
      });
      const html = await answerListing(repoDir, now, { method: 'GET', accept: 'text/html' });
      expect(html.response.headers).toMatchObject({ 'Content-Type': 'text/html; charset=utf-8' });
      expect(String(html.response.body)).toContain(`<a href="/@20261110T120000Z/${repoDir}">20261110T120000Z</a>`);
      const none = await answerListing('pub/never/', now, { method: 'GET', accept: 'application/json' });
      expect(none).toMatchObject({ outcome: 'no-history', response: { statusCode: 404 } });
    });
  });
});
