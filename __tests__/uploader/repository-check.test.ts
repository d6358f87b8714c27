/**
 * An RPM checked against the stored snapshot of its repository (what dnf
 * checks: primary.xml's checksum), with real createrepo_c output, a real
 * S3-compatible store and a real HTTP mirror.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { gunzipSync, zstdCompressSync } from 'node:zlib';
import { DeleteObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parseCacheConfig } from '../../src/commons/config.js';
import { startEmbeddedS3 } from '../../src/local/stack.js';
import { ListingGuard } from '../../src/uploader/listing-guard.js';
import { directoriesAbove } from '../../src/uploader/repository-listing.js';
import { takeSnapshot } from '../../src/uploader/snapshot/take.js';
import { cacheFromOrigin } from '../../src/uploader/upload.js';
import { OriginServer } from '../helpers/origin-server.js';
import { repository } from '../helpers/repository.js';
import { requireE2eTools } from '../helpers/rpm-fixtures.js';
import { localStoreClient } from '../helpers/s3rver.js';
import { syntheticRpmFor } from '../helpers/synthetic-rpm.js';

const run = promisify(execFile);
const BUCKET = 'rpm-cache-listing';
const FIXTURE = '__tests__/fixtures/demo-c++-1.0^20260101git-1.noarch.rpm';
const HREF = 'Packages/d/demo-c++-1.0^20260101git-1.noarch.rpm';
const GZ_REPO = 'pub/fedora/linux/updates/44/Everything/x86_64/';
const ZST_REPO = 'pub/fedora/linux/updates/45/Everything/x86_64/';
const XZ_REPO = 'pub/epel/9/Everything/x86_64/';

describe('an RPM against the snapshot of its repository', () => {
  let work: string;
  let store: Awaited<ReturnType<typeof startEmbeddedS3>>;
  let s3: S3Client;
  let origin: OriginServer;
  let rpm: Buffer;

  const deps = () => ({
    config: parseCacheConfig({ S3_BUCKET_NAME: BUCKET, ORIGIN_HOST: origin.baseUrl }),
    s3,
    originIdleTimeoutMs: 2000,
  });
  const isStored = async (path: string) =>
    s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `cache/${path}` })).then(
      () => true,
      () => false,
    );

  /** createrepo_c's metadata for the fixture RPM, as files under `repoDir`. */
  const createrepo = async (repoDir: string, options: string[] = []) => {
    const tree = await mkdtemp(join(work, 'repo-'));
    await mkdir(join(tree, 'Packages/d'), { recursive: true });
    await copyFile(FIXTURE, join(tree, HREF));
    await run('createrepo_c', [...options, tree]);
    const files = new Map<string, Buffer>();
    for (const name of await readdir(join(tree, 'repodata'))) {
      files.set(`${repoDir}repodata/${name}`, await readFile(join(tree, 'repodata', name)));
    }
    return files;
  };

  beforeAll(async () => {
    await requireE2eTools(['createrepo_c']);
    work = await mkdtemp(join(tmpdir(), 'rpm-cache-listing-'));
    store = await startEmbeddedS3(join(work, 'data'), BUCKET);
    s3 = localStoreClient(store.endpoint);
    origin = await OriginServer.start();
    rpm = await readFile(FIXTURE);

    const gz = await createrepo(GZ_REPO);
    // Fedora compresses primary.xml with zstd; Debian's createrepo_c cannot, so the same XML is recompressed.
    const primaryGz = [...gz.entries()].find(([path]) => path.endsWith('-primary.xml.gz'))?.[1] ?? Buffer.alloc(0);
    const zst = repository(ZST_REPO, { primary: zstdCompressSync(gunzipSync(primaryGz)) }, { extension: 'xml.zst' });
    const xz = await createrepo(XZ_REPO, ['--general-compress-type=xz']);
    for (const files of [gz, zst, xz]) for (const [path, bytes] of files) origin.files.set(path, bytes);
    for (const repoDir of [GZ_REPO, ZST_REPO, XZ_REPO]) {
      expect(await takeSnapshot(`${repoDir}repodata/repomd.xml`, deps())).toMatchObject({ outcome: 'stored' });
    }
  });

  beforeEach(async () => {
    // Each test uploads the listed RPM afresh.
    for (const repoDir of [GZ_REPO, ZST_REPO, XZ_REPO]) {
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `cache/${repoDir}${HREF}` }));
    }
  });

  afterAll(async () => {
    s3.destroy();
    await origin.close();
    await store.close();
    await rm(work, { recursive: true, force: true });
  });

  it.each([
    ['gzip', GZ_REPO],
    ['zstd', ZST_REPO],
  ])('stores the RPM primary.xml (%s) lists, saying it matched', async (_compression, repoDir) => {
    const path = `${repoDir}${HREF}`;
    origin.files.set(path, rpm);

    const result = await cacheFromOrigin(path, deps());

    expect(result).toMatchObject({
      outcome: 'stored',
      bytes: rpm.length,
      repositoryCheck: { result: 'matched', repository: repoDir, snapshot: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    expect(await isStored(path)).toBe(true);
  });

  it.each([
    ['gzip', GZ_REPO],
    ['zstd', ZST_REPO],
  ])(
    'refuses a valid RPM of the same name that is not the one primary.xml (%s) lists',
    async (compression, repoDir) => {
      // Another build under the listed name: its own digests and its name all check out (stored where no snapshot lists it).
      const impostor = syntheticRpmFor(HREF, { payloadBytes: rpm.length - 2000 });
      origin.files.set(`${repoDir}${HREF}`, impostor);
      const unlisted = `pub/elsewhere/${compression}/${HREF}`;
      origin.files.set(unlisted, impostor);
      expect(await cacheFromOrigin(unlisted, deps())).toMatchObject({ outcome: 'stored' });

      const result = await cacheFromOrigin(`${repoDir}${HREF}`, deps());

      expect(result).toMatchObject({ outcome: 'corrupt' });
      expect(result.reason).toMatch(
        new RegExp(`where the primary\\.xml of snapshot [0-9a-f]{12} of ${repoDir.replaceAll('/', '\\/')} lists`),
      );
      expect(await isStored(`${repoDir}${HREF}`)).toBe(false);
    },
  );

  it('stores an RPM its repository does not list yet, saying so', async () => {
    const path = `${GZ_REPO}Packages/n/newer-2.0-1.noarch.rpm`;
    origin.files.set(path, syntheticRpmFor(path));

    expect(await cacheFromOrigin(path, deps())).toMatchObject({
      outcome: 'stored',
      repositoryCheck: { result: 'not-listed', repository: GZ_REPO },
    });
  });

  it('stores an RPM whose primary.xml it cannot read (xz), saying why it was not checked', async () => {
    const path = `${XZ_REPO}${HREF}`;
    origin.files.set(path, rpm);

    expect(await cacheFromOrigin(path, deps())).toMatchObject({
      outcome: 'stored',
      repositoryCheck: {
        result: 'not-checked',
        repository: XZ_REPO,
        reason: expect.stringContaining('compressed in a format Node cannot read'),
      },
    });
  });

  it('refuses bytes of the listed size whose SHA-256 differs, and does not check a digest it does not compute', async () => {
    const listed = (algorithm: string, checksum: string) =>
      Promise.resolve({
        result: 'listed' as const,
        repository: GZ_REPO,
        snapshot: 'f'.repeat(64),
        entry: { algorithm, checksum, size: 3 },
      });
    const through = async (guard: ListingGuard) => {
      await pipeline(Readable.from([Buffer.from('rpm')]), guard, new PassThrough().resume());
      return guard.check;
    };

    await expect(through(new ListingGuard(listed('sha256', '0'.repeat(64))))).rejects.toThrow(
      `sha256 ${createHash('sha256').update('rpm').digest('hex')} where the primary.xml of snapshot ffffffffffff of ${GZ_REPO} lists ${'0'.repeat(64)}`,
    );
    expect(await through(new ListingGuard(listed('sha1', '0'.repeat(40))))).toMatchObject({
      result: 'not-checked',
      reason: expect.stringContaining('lists a sha1'),
    });
  });

  it('looks for the repository in every directory above the RPM, nearest first', () => {
    expect(directoriesAbove('pub/a/Packages/x.rpm')).toEqual(['pub/a/Packages/', 'pub/a/', 'pub/', '']);
    expect(directoriesAbove('x.rpm')).toEqual(['']);
  });
});
