/**
 * Repository snapshots against a real S3-compatible store (s3rver behind the
 * local stack's conditional-write proxy) and a real HTTP mirror.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { parseCacheConfig } from '../../src/commons/config.js';
import {
  manifestKey,
  readCurrentSnapshot,
  readStoredManifest,
  type SnapshotManifest,
} from '../../src/commons/snapshot-manifest.js';
import { startEmbeddedS3 } from '../../src/local/stack.js';
import { takeSnapshot } from '../../src/uploader/snapshot/take.js';
import { OriginServer } from '../helpers/origin-server.js';
import { repository } from '../helpers/repository.js';
import { localStoreClient } from '../helpers/s3rver.js';

const BUCKET = 'rpm-cache-snapshots';
const REPO = 'pub/fedora/linux/updates/44/Everything/x86_64/';
const REPOMD = `${REPO}repodata/repomd.xml`;

describe('takeSnapshot', () => {
  let work: string;
  let store: Awaited<ReturnType<typeof startEmbeddedS3>>;
  let s3: S3Client;
  let origin: OriginServer;

  const deps = () => ({
    config: parseCacheConfig({ S3_BUCKET_NAME: BUCKET, ORIGIN_HOST: origin.baseUrl }),
    s3,
    originIdleTimeoutMs: 500,
  });
  const serve = (files: Map<string, Buffer>) => {
    origin.files.clear();
    for (const [path, bytes] of files) origin.files.set(path, bytes);
  };
  const current = async (): Promise<SnapshotManifest | undefined> =>
    (await readCurrentSnapshot(s3, BUCKET, REPO))?.manifest;
  const stored = async (key: string): Promise<Buffer> => {
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return Buffer.from((await object.Body?.transformToByteArray()) ?? []);
  };
  const tagOf = async (key: string) =>
    (await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: key }))).TagSet?.find(
      (tag) => tag.Key === 'rpm-cache-snapshot',
    )?.Value;
  /** What a client of the snapshot gets: every path the manifest names, with its stored bytes. */
  const served = async (manifest: SnapshotManifest, repoDir = REPO) => {
    const files = new Map<string, Buffer>();
    for (const [file, { key }] of Object.entries(manifest.files)) files.set(`${repoDir}${file}`, await stored(key));
    return files;
  };
  const keysOf = (manifest: SnapshotManifest | undefined) => Object.values(manifest?.files ?? {}).map(({ key }) => key);
  const metadataOf = async (key: string) => (await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).Metadata;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'rpm-cache-snapshot-'));
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

  describe('the first snapshot of a repository', () => {
    it('stores repomd.xml, every file it lists and its signature, then makes them current', async () => {
      const repo = repository(
        'first/',
        {
          primary: randomBytes(3000),
          filelists: randomBytes(2000),
        },
        { signature: Buffer.from('-----BEGIN PGP SIGNATURE-----\n') },
      );
      serve(repo);

      const result = await takeSnapshot('first/repodata/repomd.xml', deps());

      expect(result).toMatchObject({ outcome: 'stored', files: 4, originStatus: 200 });
      const manifest = (await readCurrentSnapshot(s3, BUCKET, 'first/'))?.manifest;
      expect(manifest?.id).toBe(result.snapshotId);
      expect(manifest?.absent).toEqual(['repodata/repomd.xml.key', 'media.1/media']);
      expect(manifest?.settled).toBe(true);
      for (const { key } of Object.values(manifest?.files ?? {})) {
        expect(key).toMatch(/^snapshots\/blobs\/first\/repodata\/sha256-[0-9a-f]{64}$/);
        expect(await tagOf(key)).toBe('current');
      }
      expect(await served(manifest as SnapshotManifest, 'first/')).toEqual(repo);
    });
  });

  describe('a repository that changes', () => {
    it('takes one snapshot per distinct repomd.xml and retires the superseded one', async () => {
      const first = repository(REPO, { primary: randomBytes(1000) }, { revision: '1' });
      serve(first);
      const taken = await takeSnapshot(REPOMD, deps());
      const again = await takeSnapshot(REPOMD, deps());
      const oldManifest = await current();

      const second = repository(REPO, { primary: randomBytes(1200), updateinfo: randomBytes(500) }, { revision: '2' });
      serve(second);
      const next = await takeSnapshot(REPOMD, deps());

      expect(taken.outcome).toBe('stored');
      expect(again).toMatchObject({ outcome: 'already-current', snapshotId: taken.snapshotId });
      expect(next).toMatchObject({ outcome: 'stored', files: 3 });
      const manifest = await current();
      expect(manifest?.id).toBe(next.snapshotId);
      expect(await served(manifest as SnapshotManifest)).toEqual(second);
      for (const key of keysOf(oldManifest)) expect(await tagOf(key)).toBe('unreferenced');
    });

    it('never makes current a snapshot of a mirror mid-sync, and keeps the previous one', async () => {
      const before = repository(REPO, { primary: randomBytes(800) }, { revision: 'before' });
      serve(before);
      await takeSnapshot(REPOMD, deps());
      const previous = await current();
      const midSync = repository(REPO, { primary: randomBytes(900), other: randomBytes(100) }, { revision: 'mid' });
      serve(midSync);
      const missing = [...midSync.keys()].find((path) => path.endsWith('other.xml.gz')) ?? '';
      origin.files.delete(missing);

      const result = await takeSnapshot(REPOMD, deps());

      expect(result).toMatchObject({ outcome: 'incomplete', reason: expect.stringContaining('answered 404') });
      expect(await current()).toEqual(previous);
    });
  });

  describe('--simple-md-filenames (listed files overwritten in place)', () => {
    it('keeps each snapshot whole: a file the next version overwrote does not change the current one', async () => {
      const v1 = repository(REPO, { primary: randomBytes(700) }, { simpleNames: true, revision: 'v1' });
      serve(v1);
      await takeSnapshot(REPOMD, deps());
      const manifestV1 = (await current()) as SnapshotManifest;
      // The mirror is mid-sync: primary.xml.gz is v2's already, repomd.xml still v1's... then v2 whole.
      const v2 = repository(REPO, { primary: randomBytes(700) }, { simpleNames: true, revision: 'v2' });
      origin.files.set(`${REPO}repodata/primary.xml.gz`, v2.get(`${REPO}repodata/primary.xml.gz`) as Buffer);
      origin.files.set(`${REPO}repodata/repomd.xml`, Buffer.from(`${v1.get(REPOMD)?.toString()}<!-- touched -->\n`));
      const torn = await takeSnapshot(REPOMD, deps());

      expect(torn).toMatchObject({ outcome: 'incomplete', reason: expect.stringContaining('sha256') });
      expect(await served((await current()) as SnapshotManifest)).toEqual(await served(manifestV1));
      expect(await served(manifestV1)).toEqual(v1);

      serve(v2);
      expect(await takeSnapshot(REPOMD, deps())).toMatchObject({ outcome: 'stored' });
      expect(await served((await current()) as SnapshotManifest)).toEqual(v2);
    });
  });

  describe('what is never snapshot', () => {
    it.each([
      ['not XML', Buffer.from('<html>mirror maintenance</html')],
      ['not a repomd', Buffer.from('<?xml version="1.0"?><html/>')],
      [
        'a listed file outside repodata/',
        Buffer.from(
          '<repomd><data type="primary"><checksum type="sha256">' +
            'a'.repeat(64) +
            '</checksum><location href="../../etc/passwd"/></data></repomd>',
        ),
      ],
      [
        'a listed file without checksum',
        Buffer.from('<repomd><data type="primary"><location href="repodata/p.xml.gz"/></data></repomd>'),
      ],
    ])('refuses %s as corrupt, storing nothing', async (_name, repomd) => {
      origin.files.clear();
      origin.files.set('bad/repodata/repomd.xml', repomd);

      const result = await takeSnapshot('bad/repodata/repomd.xml', deps());

      expect(result).toMatchObject({ outcome: 'corrupt', reason: expect.stringMatching(/^repomd\.xml: /) });
      expect(await readCurrentSnapshot(s3, BUCKET, 'bad/')).toBeUndefined();
    });

    it('reports a repository the origin does not have', async () => {
      origin.files.clear();

      expect(await takeSnapshot('gone/repodata/repomd.xml', deps())).toEqual({
        outcome: 'origin-missing',
        originStatus: 404,
      });
    });

    it('throws on a transient origin failure, for Lambda to retry', async () => {
      serve(repository('flaky/', { primary: randomBytes(100) }));
      const listed = [...origin.files.keys()].find((path) => path.endsWith('primary.xml.gz')) ?? '';
      origin.behaviours.set(listed, { kind: 'status', status: 503 });

      await expect(takeSnapshot('flaky/repodata/repomd.xml', deps())).rejects.toThrow('answered 503');
      expect(await readCurrentSnapshot(s3, BUCKET, 'flaky/')).toBeUndefined();
      origin.behaviours.clear();
    });
  });

  describe('concurrent runs', () => {
    it('gives way to a live claim on the same repository', async () => {
      serve(repository('claimed/', { primary: randomBytes(100) }));
      const claim = (owner: string) => ({ owner, ttlMs: 60_000 });

      await s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: 'claims/claimed/repodata/repomd.xml',
          Body: JSON.stringify({ owner: 'other-run', expiresAt: Date.now() + 60_000 }),
        }),
      );
      const result = await takeSnapshot('claimed/repodata/repomd.xml', { ...deps(), claim: claim('this-run') });

      expect(result).toMatchObject({ outcome: 'claimed-elsewhere', reason: expect.stringContaining('other-run') });
    });

    it('loses the race when the current snapshot changed while it was being made', async () => {
      serve(repository('raced/', { primary: randomBytes(100) }, { revision: 'a' }));
      await takeSnapshot('raced/repodata/repomd.xml', deps());
      serve(repository('raced/', { primary: randomBytes(100) }, { revision: 'b' }));
      const listed = [...origin.files.keys()].find((path) => path.endsWith('primary.xml.gz')) ?? '';
      // While this run downloads, another makes a snapshot current.
      origin.behaviours.set(listed, {
        kind: 'custom',
        respond: (_request, response) => {
          void s3
            .send(new PutObjectCommand({ Bucket: BUCKET, Key: manifestKey('raced/'), Body: '{"changed":true}' }))
            .then(() => response.writeHead(200).end(origin.files.get(listed)));
        },
      });

      const result = await takeSnapshot('raced/repodata/repomd.xml', deps());

      expect(result.outcome).toBe('lost-race');
      origin.behaviours.clear();
    });
  });
});
