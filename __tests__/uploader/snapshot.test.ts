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
  type S3Client,
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
  /** An S3 client whose run stops at its first tagging after the commit (a timeout, an S3 error). */
  const dyingAfterCommit = () => {
    const dying = localStoreClient(store.endpoint);
    dying.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === PutObjectTaggingCommand.name) throw new Error('the run stops here');
        return next(args);
      },
      { step: 'initialize', name: 'stopAtTagging' },
    );
    return dying;
  };
  const metadataOf = async (key: string) =>
    (await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).Metadata;

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
      for (const key of keysOf(oldManifest)) expect(await tagOf(key)).toBe('history');
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
      // The mirror is mid-sync: repomd.xml is v2's already, primary.xml.gz still v1's.
      const v2 = repository(REPO, { primary: randomBytes(700) }, { simpleNames: true, revision: 'v2' });
      origin.files.set(REPOMD, v2.get(REPOMD) as Buffer);
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

  describe('one version per snapshot', () => {
    it('pairs repomd.xml only with its own signature: a repomd.xml that changes meanwhile ends incomplete', async () => {
      const repoDir = 'one-version/';
      const v1 = repository(
        repoDir,
        { primary: randomBytes(300) },
        { revision: '1', signature: Buffer.from('sig v1') },
      );
      const v2 = repository(
        repoDir,
        { primary: randomBytes(300) },
        { revision: '2', signature: Buffer.from('sig v2') },
      );
      serve(v1);
      const listed = [...v1.keys()].find((path) => path.endsWith('primary.xml.gz')) ?? '';
      // The mirror syncs v2 while this run downloads v1's primary.
      origin.behaviours.set(listed, {
        kind: 'custom',
        respond: (_request, response) => {
          const body = v1.get(listed);
          serve(v2);
          response.writeHead(200).end(body);
        },
      });

      const result = await takeSnapshot(`${repoDir}repodata/repomd.xml`, deps());

      expect(result).toMatchObject({ outcome: 'incomplete', reason: expect.stringContaining('repomd.xml changed') });
      expect(await readCurrentSnapshot(s3, BUCKET, repoDir)).toBeUndefined();
      origin.behaviours.clear();
      // The next run takes v2 whole, with v2's signature.
      expect(await takeSnapshot(`${repoDir}repodata/repomd.xml`, deps())).toMatchObject({ outcome: 'stored' });
      const manifest = (await readCurrentSnapshot(s3, BUCKET, repoDir))?.manifest as SnapshotManifest;
      expect(await served(manifest, repoDir)).toEqual(v2);
    });

    it('takes a snapshot of an origin that answers 403 for the companions it does not have', async () => {
      const repoDir = 'forbidden-companions/';
      serve(repository(repoDir, { primary: randomBytes(200) }));
      for (const companion of ['repodata/repomd.xml.asc', 'repodata/repomd.xml.key', 'media.1/media']) {
        origin.behaviours.set(`${repoDir}${companion}`, { kind: 'status', status: 403 });
      }

      const result = await takeSnapshot(`${repoDir}repodata/repomd.xml`, deps());

      expect(result).toMatchObject({ outcome: 'stored', files: 2 });
      expect((await readCurrentSnapshot(s3, BUCKET, repoDir))?.manifest.absent).toEqual([
        'repodata/repomd.xml.asc',
        'repodata/repomd.xml.key',
        'media.1/media',
      ]);
      origin.behaviours.clear();
    });
    it('retries a signature the origin rate-limits (429) rather than record it absent', async () => {
      const repoDir = 'rate-limited/';
      const path = `${repoDir}repodata/repomd.xml`;
      serve(repository(repoDir, { primary: randomBytes(100) }, { signature: Buffer.from('signature') }));
      origin.behaviours.set(`${repoDir}repodata/repomd.xml.asc`, { kind: 'status', status: 429 });

      await expect(takeSnapshot(path, deps())).rejects.toThrow();
      expect(await readStoredManifest(s3, BUCKET, repoDir)).toBeUndefined();
      origin.behaviours.clear();
      await takeSnapshot(path, deps());
      const manifest = (await readStoredManifest(s3, BUCKET, repoDir))?.manifest;
      expect(await stored(manifest?.files['repodata/repomd.xml.asc']?.key ?? '')).toEqual(Buffer.from('signature'));
    });

    it('refuses a signature from a lagging mirror of a pool (asked again at the end, it differs)', async () => {
      const repoDir = 'pool/';
      const path = `${repoDir}repodata/repomd.xml`;
      const ascPath = `${repoDir}repodata/repomd.xml.asc`;
      const lagging = repository(
        repoDir,
        { primary: randomBytes(100) },
        { revision: '1', signature: Buffer.from('v1') },
      );
      serve(repository(repoDir, { primary: randomBytes(100) }, { revision: '2', signature: Buffer.from('v2') }));
      // The pool sends the signature's first request to a mirror that still has version 1.
      origin.behaviours.set(ascPath, {
        kind: 'custom',
        respond: (_request, response) => {
          origin.behaviours.delete(ascPath);
          response.writeHead(200).end(lagging.get(ascPath));
        },
      });

      const result = await takeSnapshot(path, deps());

      expect(result).toMatchObject({
        outcome: 'incomplete',
        reason: expect.stringContaining('repomd.xml.asc changed'),
      });
      expect(await readStoredManifest(s3, BUCKET, repoDir)).toBeUndefined();
      expect((await takeSnapshot(path, deps())).outcome).toBe('stored');
      const manifest = (await readStoredManifest(s3, BUCKET, repoDir))?.manifest;
      expect(await stored(manifest?.files['repodata/repomd.xml.asc']?.key ?? '')).toEqual(Buffer.from('v2'));
    });
  });

  describe('never backwards', () => {
    it.each([
      ['by <revision>', { revision: '1700000200' }, { revision: '1700000100' }],
      [
        'by the newest <timestamp> when revisions are not numbers',
        { revision: 'b', timestamp: 200 },
        { revision: 'c', timestamp: 100 },
      ],
    ])(
      'leaves the newer snapshot current when a lagging mirror serves an older repomd.xml (%s)',
      async (_name, newer, older) => {
        const repoDir = `backwards-${newer.revision}/`;
        serve(repository(repoDir, { primary: randomBytes(200) }, newer));
        const taken = await takeSnapshot(`${repoDir}repodata/repomd.xml`, deps());
        serve(repository(repoDir, { primary: randomBytes(200) }, older));

        const result = await takeSnapshot(`${repoDir}repodata/repomd.xml`, deps());

        expect(result).toMatchObject({ outcome: 'outdated', reason: expect.stringContaining('older repomd.xml') });
        expect((await readCurrentSnapshot(s3, BUCKET, repoDir))?.manifest.id).toBe(taken.snapshotId);
      },
    );
    it('is not held back for good by a repomd.xml from a host whose clock was years ahead', async () => {
      const repoDir = 'future-clock/';
      const path = `${repoDir}repodata/repomd.xml`;
      // createrepo_c writes the generation time as <revision>: one run on a host whose clock said 2040.
      serve(repository(repoDir, { primary: randomBytes(100) }, { revision: '2208988800' }));
      await takeSnapshot(path, deps());
      serve(repository(repoDir, { primary: randomBytes(100) }, { revision: String(Math.floor(Date.now() / 1000)) }));

      expect((await takeSnapshot(path, deps())).outcome).toBe('stored');
      // A revision only a day ahead still orders versions (clocks differ by minutes, not days).
      serve(repository(repoDir, { primary: randomBytes(100) }, { revision: '1000000000' }));
      expect((await takeSnapshot(path, deps())).outcome).toBe('outdated');
    });
  });

  describe('never stuck, never leaking', () => {
    it('replaces a manifest it cannot parse', async () => {
      const repoDir = 'unreadable-manifest/';
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: manifestKey(repoDir), Body: '{"not":"a manifest"}' }));
      const repo = repository(repoDir, { primary: randomBytes(200) });
      serve(repo);

      expect(await takeSnapshot(`${repoDir}repodata/repomd.xml`, deps())).toMatchObject({ outcome: 'stored' });
      expect(
        await served((await readCurrentSnapshot(s3, BUCKET, repoDir))?.manifest as SnapshotManifest, repoDir),
      ).toEqual(repo);
    });

    it('finishes a run that stopped after its commit: the next run tags, retires and settles', async () => {
      const repoDir = 'unsettled/';
      serve(repository(repoDir, { primary: randomBytes(200) }, { revision: '1' }));
      await takeSnapshot(`${repoDir}repodata/repomd.xml`, deps());
      const first = (await readCurrentSnapshot(s3, BUCKET, repoDir))?.manifest;
      serve(repository(repoDir, { primary: randomBytes(200) }, { revision: '2' }));
      // The run dies at its first tag after the commit (a timeout, an S3 error).
      const dying = localStoreClient(store.endpoint);
      dying.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === PutObjectTaggingCommand.name) throw new Error('the run stops here');
          return next(args);
        },
        { step: 'initialize', name: 'stopAtTagging' },
      );

      await expect(takeSnapshot(`${repoDir}repodata/repomd.xml`, { ...deps(), s3: dying })).rejects.toThrow(
        'stops here',
      );
      const left = (await readStoredManifest(s3, BUCKET, repoDir))?.manifest;
      expect(left?.settled).toBe(false);
      const retry = await takeSnapshot(`${repoDir}repodata/repomd.xml`, deps());

      expect(retry).toMatchObject({ outcome: 'already-current', retired: 2 });
      const settled = await current();
      expect(settled?.settled).toBe(true);
      for (const key of keysOf(settled)) expect(await tagOf(key)).toBe('current');
      for (const key of keysOf(first)) expect(await tagOf(key)).toBe('history');
      dying.destroy();
    });

    it.each([
      ['is down (503)', 503],
      ['has lost the repository (404)', 404],
    ])(
      'settles a snapshot left unsettled while the origin %s: its files are never left to expire',
      async (_, status) => {
        const repoDir = `unsettled-${status}/`;
        const path = `${repoDir}repodata/repomd.xml`;
        serve(repository(repoDir, { primary: randomBytes(100) }, { revision: '1' }));
        await takeSnapshot(path, deps());
        const first = await readStoredManifest(s3, BUCKET, repoDir);
        serve(repository(repoDir, { primary: randomBytes(100) }, { revision: '2' }));
        const dying = dyingAfterCommit();
        await expect(takeSnapshot(path, { ...deps(), s3: dying })).rejects.toThrow('stops here');
        dying.destroy();
        origin.behaviours.set(path, { kind: 'status', status });

        // Lambda's retry meets the origin as it is now: the settle comes first, whatever the origin answers.
        const retry = await takeSnapshot(path, deps()).catch((error: Error) => error);

        const left = (await readStoredManifest(s3, BUCKET, repoDir))?.manifest;
        expect(left?.settled).toBe(true);
        for (const key of keysOf(left)) expect(await tagOf(key)).toBe('current');
        for (const key of keysOf(first?.manifest).filter((key) => !keysOf(left).includes(key))) {
          expect(await tagOf(key)).toBe('history');
        }
        if (status === 404) expect(retry).toMatchObject({ outcome: 'origin-missing', retired: 2 });
        else expect(retry).toBeInstanceOf(Error);
        origin.behaviours.clear();
      },
    );

    it('settles a snapshot left unsettled while a lagging mirror serves the older version', async () => {
      const repoDir = 'unsettled-lagging/';
      const path = `${repoDir}repodata/repomd.xml`;
      const older = repository(repoDir, { primary: randomBytes(100) }, { revision: '1' });
      serve(older);
      await takeSnapshot(path, deps());
      serve(repository(repoDir, { primary: randomBytes(100) }, { revision: '2' }));
      const dying = dyingAfterCommit();
      await expect(takeSnapshot(path, { ...deps(), s3: dying })).rejects.toThrow('stops here');
      dying.destroy();
      serve(older);

      const retry = await takeSnapshot(path, deps());

      expect(retry).toMatchObject({ outcome: 'outdated', retired: 2 });
      const left = (await readStoredManifest(s3, BUCKET, repoDir))?.manifest;
      expect([left?.revision, left?.settled]).toEqual(['2', true]);
      for (const key of keysOf(left)) expect(await tagOf(key)).toBe('current');
    });

    it('leaves the files of a run that lost the race to expire: none is tagged current', async () => {
      const repoDir = 'lost-run/';
      serve(repository(repoDir, { primary: randomBytes(100) }, { revision: 'a' }));
      await takeSnapshot(`${repoDir}repodata/repomd.xml`, deps());
      const loser = repository(repoDir, { primary: randomBytes(100) }, { revision: 'b' });
      serve(loser);
      const listed = [...loser.keys()].find((path) => path.endsWith('primary.xml.gz')) ?? '';
      origin.behaviours.set(listed, {
        kind: 'custom',
        respond: (_request, response) => {
          void s3
            .send(new PutObjectCommand({ Bucket: BUCKET, Key: manifestKey(repoDir), Body: '{"changed":true}' }))
            .then(() => response.writeHead(200).end(loser.get(listed)));
        },
      });

      expect((await takeSnapshot(`${repoDir}repodata/repomd.xml`, deps())).outcome).toBe('lost-race');
      const checksum = /([0-9a-f]{64})-primary/.exec(listed)?.[1] ?? '';
      expect(await tagOf(`snapshots/blobs/${repoDir}repodata/sha256-${checksum}`)).toBe('unreferenced');
      origin.behaviours.clear();
    });
  });

  describe('retention', () => {
    it('stores a file two versions list once, and retires what the new version no longer lists with a fresh date', async () => {
      const repoDir = 'retention/';
      const updateinfo = randomBytes(400);
      const a = repository(repoDir, { primary: randomBytes(300), updateinfo }, { revision: '1' });
      const b = repository(repoDir, { primary: randomBytes(300), updateinfo }, { revision: '2' });
      serve(a);
      await takeSnapshot(`${repoDir}repodata/repomd.xml`, deps());
      const manifestA = (await readCurrentSnapshot(s3, BUCKET, repoDir))?.manifest as SnapshotManifest;
      serve(b);
      origin.requests.length = 0;

      const next = await takeSnapshot(`${repoDir}repodata/repomd.xml`, deps());

      expect(next).toMatchObject({ outcome: 'stored', files: 3, downloaded: 1 });
      const updateinfoPath = [...b.keys()].find((path) => path.includes('updateinfo')) ?? '';
      expect(origin.requests.filter((request) => request.url.endsWith(updateinfoPath.slice(repoDir.length)))).toEqual(
        [],
      );
      const manifestB = (await readCurrentSnapshot(s3, BUCKET, repoDir))?.manifest as SnapshotManifest;
      const shared = keysOf(manifestA).filter((key) => keysOf(manifestB).includes(key));
      expect(shared).toHaveLength(1);
      expect(await tagOf(shared[0] ?? '')).toBe('current');
      for (const key of keysOf(manifestA).filter((key) => !shared.includes(key))) {
        expect(await tagOf(key)).toBe('history');
        // Copied onto itself: S3 counts the lifecycle's days from this new creation.
        expect(await metadataOf(key)).toMatchObject({ 'retired-at': expect.any(String) });
      }
      expect(manifestB.previous?.id).toBe(manifestA.id);
    });

    it('renews and makes current again the files of a version the origin goes back to (A, B, A)', async () => {
      const repoDir = 'a-b-a/';
      const a = repository(repoDir, { primary: randomBytes(300) }, { revision: 'a' });
      serve(a);
      await takeSnapshot(`${repoDir}repodata/repomd.xml`, deps());
      const manifestA = (await readCurrentSnapshot(s3, BUCKET, repoDir))?.manifest as SnapshotManifest;
      serve(repository(repoDir, { primary: randomBytes(300) }, { revision: 'b' }));
      await takeSnapshot(`${repoDir}repodata/repomd.xml`, deps());
      serve(a);
      origin.requests.length = 0;

      expect(await takeSnapshot(`${repoDir}repodata/repomd.xml`, deps())).toMatchObject({
        outcome: 'stored',
        downloaded: 0,
      });
      const again = (await readCurrentSnapshot(s3, BUCKET, repoDir))?.manifest as SnapshotManifest;
      expect(keysOf(again).sort()).toEqual(keysOf(manifestA).sort());
      for (const key of keysOf(again)) expect(await tagOf(key)).toBe('current');
      const primaryKey =
        again.files[[...a.keys()].find((path) => path.includes('primary'))?.slice(repoDir.length) ?? '']?.key;
      expect(await metadataOf(primaryKey ?? '')).toMatchObject({ 'reused-at': expect.any(String) });
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
    it('reports stored, and settles, when S3 applied its manifest write but the answer was lost (SDK retry: 412)', async () => {
      const repoDir = 'lost-answer/';
      serve(repository(repoDir, { primary: randomBytes(100) }, { revision: '1' }));
      const flaky = localStoreClient(store.endpoint);
      let dropped = false;
      flaky.middlewareStack.add(
        (next, context) => async (args) => {
          const result = await next(args);
          const input = args.input as { Key?: string };
          if (!dropped && context.commandName === PutObjectCommand.name && input.Key === manifestKey(repoDir)) {
            dropped = true;
            throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', $metadata: {} });
          }
          return result;
        },
        { step: 'deserialize', name: 'dropAnswer', priority: 'high' },
      );

      const result = await takeSnapshot(`${repoDir}repodata/repomd.xml`, { ...deps(), s3: flaky });
      flaky.destroy();

      expect(dropped).toBe(true);
      const manifest = (await readStoredManifest(s3, BUCKET, repoDir))?.manifest;
      expect(result).toMatchObject({ outcome: 'stored', snapshotId: manifest?.id });
      expect(manifest?.settled).toBe(true);
      for (const key of keysOf(manifest)) expect(await tagOf(key)).toBe('current');
    });

    it('leaves a file current when a slower duplicate of the same event renewed it after the first run settled', async () => {
      const repoDir = 'duplicate/';
      const path = `${repoDir}repodata/repomd.xml`;
      const updateinfo = randomBytes(200);
      serve(repository(repoDir, { primary: randomBytes(100), updateinfo }, { revision: '1' }));
      await takeSnapshot(path, deps());
      serve(repository(repoDir, { primary: randomBytes(100), updateinfo: randomBytes(200) }, { revision: '2' }));
      await takeSnapshot(path, deps());
      // Version 3 lists version 1's updateinfo again, which version 2 retired: each run renews it.
      serve(repository(repoDir, { primary: randomBytes(100), updateinfo }, { revision: '3' }));
      let firstDone: () => void = () => undefined;
      const done = new Promise<void>((resolve) => {
        firstDone = resolve;
      });
      const slow = localStoreClient(store.endpoint);
      slow.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'CopyObjectCommand') await done;
          return next(args);
        },
        { step: 'initialize', name: 'slowDuplicate' },
      );
      // Lambda may deliver one async event twice: both runs carry its request id, so both hold the claim.
      const claim = { owner: 'same-request-id', ttlMs: 60_000 };

      const results = await Promise.all([
        takeSnapshot(path, { ...deps(), claim }).finally(() => firstDone()),
        takeSnapshot(path, { ...deps(), s3: slow, claim }),
      ]);
      slow.destroy();

      expect(results.map(({ outcome }) => outcome).sort()).toEqual(['lost-race', 'stored']);
      const manifest = (await readStoredManifest(s3, BUCKET, repoDir))?.manifest;
      for (const key of keysOf(manifest)) expect(await tagOf(key)).toBe('current');
    });
  });
});
