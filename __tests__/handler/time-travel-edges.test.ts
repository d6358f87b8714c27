/**
 * Time travel at its edges, from the review of #25 (each failed on the code
 * as reviewed): a repository inside another's repodata/, a history whose
 * oldest entries expired, repository paths near S3's key limit, links to
 * paths with `#`, the CLI's root repository and encoded URLs.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, type S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { repositoryPathOf } from '../../src/cli/snapshots.js';
import { parseCacheConfig } from '../../src/commons/config.js';
import { MAX_KEY_BYTES, uploadPathProblem } from '../../src/commons/paths.js';
import { repomdPath } from '../../src/commons/repodata.js';
import { historyKey, writeHistoryEntry } from '../../src/commons/snapshot-history.js';
import { blobKey, manifestKey, type SnapshotManifest } from '../../src/commons/snapshot-manifest.js';
import { listingHtml, listSnapshots } from '../../src/handler/time-travel/listing.js';
import { findSnapshotAt } from '../../src/handler/time-travel/snapshot-at.js';
import { startEmbeddedS3 } from '../../src/local/stack.js';
import { takeSnapshot } from '../../src/uploader/snapshot/take.js';
import { OriginServer } from '../helpers/origin-server.js';
import { repository } from '../helpers/repository.js';
import { localStoreClient } from '../helpers/s3rver.js';

const BUCKET = 'rpm-cache-edges';

describe('time travel at its edges', () => {
  let work: string;
  let store: Awaited<ReturnType<typeof startEmbeddedS3>>;
  let s3: S3Client;
  let origin: OriginServer;

  const config = () => parseCacheConfig({ S3_BUCKET_NAME: BUCKET, ORIGIN_HOST: origin.baseUrl });
  const serve = (files: Map<string, Buffer>) => {
    for (const [path, bytes] of files) origin.files.set(path, bytes);
  };
  const snapshotAt = (repoDir: string, at: string, client: S3Client = s3) =>
    takeSnapshot(repomdPath(repoDir), {
      config: config(),
      s3: client,
      originIdleTimeoutMs: 500,
      now: () => new Date(at),
    });
  const window = (now: string, historyDays = 90) => ({ historyDays, now: Date.parse(now) });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'rpm-cache-edges-'));
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

  it("a repository under another one's repodata/ keeps no history, so it never answers for the other", async () => {
    const outer = 'pub/nest/x86_64/';
    const inner = `${outer}repodata/zz/`;
    origin.reset();
    serve(repository(outer, { primary: randomBytes(100) }, { revision: '1' }));
    expect((await snapshotAt(outer, '2026-11-01T12:00:00Z')).outcome).toBe('stored');
    serve(repository(inner, { primary: randomBytes(100) }, { revision: '1' }));
    expect((await snapshotAt(inner, '2026-11-02T12:00:00Z')).outcome).toBe('stored');
    serve(repository(inner, { primary: randomBytes(100) }, { revision: '2' }));
    const innerSecond = await snapshotAt(inner, '2026-11-05T12:00:00Z');
    expect(innerSecond.outcome).toBe('stored');

    // The outer repository's only snapshot is current at any time after Nov 1. The lookup's ListObjectsV2
    // (Prefix .../x86_64/repodata/, StartAfter <T>~, no Delimiter) returns the inner repository's first entry
    // (.../x86_64/repodata/zz/repodata/20261102T120000Z_...): received before-history, first 20261102T120000Z.
    const found = await findSnapshotAt(
      s3,
      { bucket: BUCKET, repoDir: outer, time: '20261110T000000Z' },
      window('2026-11-20T00:00:00Z'),
    );
    expect(found).toMatchObject({ kind: 'found', snapshot: { time: '20261101T120000Z' } });
  });

  it("a 404 before the history names the first snapshot a /@T/ answer still reaches (the listing's oldest)", async () => {
    // Three snapshots; the entry of the second expired first, as the lifecycle deletes entries oldest first.
    const repoDir = 'pub/expired-entry/x86_64/';
    const manifests: SnapshotManifest[] = [];
    for (const [index, createdAt] of [
      '2026-11-01T12:00:00Z',
      '2026-11-10T12:00:00Z',
      '2026-11-20T12:00:00Z',
    ].entries()) {
      const previous = manifests.at(-1);
      const manifest: SnapshotManifest = {
        id: String(index + 1).padStart(64, '0'),
        createdAt,
        validators: {},
        files: { 'repodata/repomd.xml': { key: `blob-${index}`, contentNamed: false } },
        absent: [],
        settled: true,
        ...(previous === undefined
          ? {}
          : { previous: { id: previous.id, files: previous.files, createdAt: previous.createdAt, absent: [] } }),
      };
      manifests.push(manifest);
      await writeHistoryEntry(s3, { bucket: BUCKET, repoDir, manifest });
    }
    for (const manifest of manifests.slice(0, 2)) {
      await s3.send(
        new DeleteObjectCommand({
          Bucket: BUCKET,
          Key: historyKey(repoDir, { time: manifest.createdAt.replace(/[-:]/g, ''), id: manifest.id }),
        }),
      );
    }
    // Now Dec 1 with 90 days: Nov 10's snapshot (superseded Nov 20) is reachable, and the listing shows it.
    const now = window('2026-12-01T00:00:00Z');
    const listed = await listSnapshots(s3, { bucket: BUCKET, repoDir }, now);
    expect(listed.at(-1)?.time).toBe('20261110T120000Z');
    expect(await findSnapshotAt(s3, { bucket: BUCKET, repoDir, time: '20261115T000000Z' }, now)).toMatchObject({
      kind: 'found',
      snapshot: { time: '20261110T120000Z' },
    });

    const before = await findSnapshotAt(s3, { bucket: BUCKET, repoDir, time: '20261105T000000Z' }, now);
    expect(before).toEqual({ kind: 'before-history', first: '20261110T120000Z' });
  });

  it('every key a snapshot of an accepted repository writes fits S3 (history entries too)', async () => {
    // A repository path the uploader accepts, whose blobs and manifest fit in a key, with a 150-character revision.
    const segment = 'd'.repeat(200);
    const repoDir = `${[segment, segment, segment, segment].join('/')}/${'e'.repeat(40)}/`; // 845 bytes
    expect(uploadPathProblem(repomdPath(repoDir))).toBeUndefined();
    expect(Buffer.byteLength(blobKey(repoDir, 'sha256', 'f'.repeat(64)))).toBeLessThanOrEqual(MAX_KEY_BYTES);
    expect(Buffer.byteLength(manifestKey(repoDir))).toBeLessThanOrEqual(MAX_KEY_BYTES);
    const key = historyKey(repoDir, { time: '20261101T120000Z', id: 'f'.repeat(64), revision: 'r'.repeat(150) });
    expect(Buffer.byteLength(key)).toBeLessThanOrEqual(MAX_KEY_BYTES);
  });

  it('such a repository keeps taking snapshots (S3 refuses a key over 1,024 bytes: KeyTooLongError)', async () => {
    const limited = localStoreClient(store.endpoint);
    limited.middlewareStack.add(
      (next) => async (args) => {
        const key = (args.input as { Key?: unknown }).Key;
        if (typeof key === 'string' && Buffer.byteLength(key) > MAX_KEY_BYTES) {
          throw new S3ServiceException({
            name: 'KeyTooLongError',
            $fault: 'client',
            $metadata: { httpStatusCode: 400 },
            message: 'Your key is too long',
          });
        }
        return next(args);
      },
      { step: 'initialize', name: 'keyLength' },
    );
    const segment = 'g'.repeat(200);
    const repoDir = `${[segment, segment, segment, segment].join('/')}/${'h'.repeat(100)}/`; // 905 bytes
    origin.reset();
    serve(repository(repoDir, { primary: randomBytes(100) }, { revision: '1763640000' }));
    // The first run commits its manifest, then the history entry's PUT fails: the manifest stays unsettled,
    // and every later run settles first and fails the same way, so no later version is ever taken.
    const first = await snapshotAt(repoDir, '2026-11-01T12:00:00Z', limited).catch((error: Error) => error.name);
    serve(repository(repoDir, { primary: randomBytes(100) }, { revision: '1763726400' }));
    const second = await snapshotAt(repoDir, '2026-11-02T12:00:00Z', limited).catch((error: Error) => error.name);
    limited.destroy();
    expect([first, second].map((result) => (typeof result === 'string' ? result : result.outcome))).toEqual([
      'stored',
      'stored',
    ]);
  });

  it('the listing page links each time to its baseurl, whatever characters the path holds', () => {
    const html = listingHtml('pub/a#b/x86_64/', [
      {
        time: '20261101T120000Z',
        current: true,
        repomdSha256: '0'.repeat(64),
        path: '/@20261101T120000Z/pub/a#b/x86_64/',
      },
    ]);
    expect(html).toContain('href="/@20261101T120000Z/pub/a%23b/x86_64/"');
  });

  it('rpm-cache snapshots lists a repository at the root, as GET /@/repodata/ does', () => {
    expect(repositoryPathOf('repodata/', 'https://cache.example')).toBe('');
  });

  it('rpm-cache snapshots takes a repository URL as a browser copies it (percent-encoded) and asks for that repository', () => {
    // The handler decodes the path once; a URL's path must be decoded before fetchListing encodes it again.
    expect(repositoryPathOf('https://cache.example/pub/a%2Bb/x86_64/', 'https://cache.example')).toBe(
      'pub/a+b/x86_64/',
    );
  });
});
