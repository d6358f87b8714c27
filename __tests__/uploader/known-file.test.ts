/**
 * What the cache knows a lost file must be (rescue/known-file.ts): the newest
 * snapshot of its repository that lists it (the current one, then the history,
 * newest first, up to MAX_SNAPSHOTS_SEARCHED), else the request's expectation.
 * Snapshots are taken for real (takeSnapshot against a mirror on 127.0.0.1,
 * into the local stack's embedded S3), the history made by snapshotting the
 * repository again once it changed.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type CacheConfig, parseCacheConfig } from '../../src/commons/config.js';
import { blobKey } from '../../src/commons/snapshot-manifest.js';
import { startEmbeddedS3 } from '../../src/local/stack.js';
import { knownFile, MAX_SNAPSHOTS_SEARCHED } from '../../src/uploader/rescue/known-file.js';
import { takeSnapshot } from '../../src/uploader/snapshot/take.js';
import { OriginServer } from '../helpers/origin-server.js';
import { primaryXml } from '../helpers/primary-xml.js';
import { repository } from '../helpers/repository.js';
import { localStoreClient } from '../helpers/s3rver.js';
import { syntheticRpmFor } from '../helpers/synthetic-rpm.js';

const BUCKET = 'rpm-cache-known-files';
const HREF = 'Packages/g/gadget-2.0-3.fc44.x86_64.rpm';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('knownFile', () => {
  let work: string;
  let store: Awaited<ReturnType<typeof startEmbeddedS3>>;
  let s3: S3Client;
  let origin: OriginServer;
  let config: CacheConfig;
  let repoCount = 0;

  /** A repository directory no other test used. */
  const freshRepo = () => {
    repoCount += 1;
    return `pub/fedora/linux/updates/${repoCount}/Everything/x86_64/`;
  };

  const deps = () => ({ s3, bucket: BUCKET, signal: AbortSignal.timeout(20_000) });

  /** Serves `repoDir`'s metadata listing `rpms` (primary.xml as `primary` gives it) and snapshots it. */
  const snapshot = async (
    repoDir: string,
    rpms: ReadonlyMap<string, Buffer>,
    revision: string,
    primary: (text: string) => string = (text) => text,
  ): Promise<{ readonly primaryGz: Buffer }> => {
    const primaryGz = gzipSync(primary(primaryXml(rpms, { sourceOf: (name) => `${name}-suite` })));
    for (const [path, bytes] of repository(repoDir, { primary: primaryGz }, { revision })) {
      origin.files.set(path, bytes);
    }
    const result = await takeSnapshot(`${repoDir}repodata/repomd.xml`, { config, s3, originIdleTimeoutMs: 5000 });
    if (result.outcome !== 'stored') throw new Error(`no snapshot of ${repoDir}: ${JSON.stringify(result)}`);
    return { primaryGz };
  };

  const rpm = (href = HREF) => syntheticRpmFor(href, { payloadBytes: 256 });
  const listing = (...entries: (readonly [string, Buffer])[]) => new Map(entries);
  const other = (index: number) => `Packages/o/other${index}-1.0-1.fc44.noarch.rpm`;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'rpm-cache-known-file-'));
    store = await startEmbeddedS3(join(work, 'data'), BUCKET);
    s3 = localStoreClient(store.endpoint);
    origin = await OriginServer.start();
    config = parseCacheConfig({ S3_BUCKET_NAME: BUCKET, ORIGIN_HOST: origin.baseUrl });
  });

  afterAll(async () => {
    s3.destroy();
    await origin.close();
    await store.close();
    await rm(work, { recursive: true, force: true });
  });

  it('knows nothing of a file no snapshot lists when the request names nothing', async () => {
    expect(await knownFile(`${freshRepo()}${HREF}`, undefined, deps())).toBeUndefined();
  });

  it("knows a file no snapshot lists from the request: its checksum, size and source package's name", async () => {
    const expected = { sha256: 'c'.repeat(64), size: 1234, sourceRpm: 'gadget-suite-2.1-4.fc44.src.rpm' };

    expect(await knownFile(`${freshRepo()}${HREF}`, expected, deps())).toEqual({
      sha256: expected.sha256,
      size: 1234,
      facts: {
        file: 'gadget-2.0-3.fc44.x86_64.rpm',
        name: 'gadget',
        version: '2.0',
        release: '3.fc44',
        arch: 'x86_64',
        first: 'g',
        source_name: 'gadget-suite',
        source_version: '2.1',
        source_release: '4.fc44',
      },
      knownFrom: 'the request',
      fromSnapshot: false,
    });
  });

  it('knows a file the current snapshot lists from its primary.xml, source package and epoch included', async () => {
    const repoDir = freshRepo();
    const bytes = rpm();
    await snapshot(repoDir, listing([HREF, bytes]), '1');

    expect(await knownFile(`${repoDir}${HREF}`, undefined, deps())).toEqual({
      sha256: sha256(bytes),
      size: bytes.length,
      facts: {
        file: 'gadget-2.0-3.fc44.x86_64.rpm',
        name: 'gadget',
        version: '2.0',
        release: '3.fc44',
        arch: 'x86_64',
        first: 'g',
        epoch: '0',
        source_name: 'gadget-suite',
        source_version: '2.0',
        source_release: '3.fc44',
      },
      knownFrom: `a snapshot of ${repoDir}`,
      fromSnapshot: true,
    });
  });

  it('knows a file only an older snapshot in the history lists', async () => {
    const repoDir = freshRepo();
    const bytes = rpm();
    await snapshot(repoDir, listing([HREF, bytes], [other(1), rpm(other(1))]), '1');
    await snapshot(repoDir, listing([other(1), rpm(other(1))]), '2');
    await snapshot(repoDir, listing([other(2), rpm(other(2))]), '3');

    expect(await knownFile(`${repoDir}${HREF}`, undefined, deps())).toMatchObject({
      sha256: sha256(bytes),
      size: bytes.length,
      knownFrom: `a snapshot of ${repoDir}`,
    });
  });

  it('takes the newest snapshot that lists the file', async () => {
    const repoDir = freshRepo();
    const first = rpm();
    const rebuilt = rpm();
    await snapshot(repoDir, listing([HREF, first]), '1');
    await snapshot(repoDir, listing([HREF, rebuilt]), '2');
    await snapshot(repoDir, listing([other(1), rpm(other(1))]), '3');

    expect(await knownFile(`${repoDir}${HREF}`, undefined, deps())).toMatchObject({ sha256: sha256(rebuilt) });
  });

  it('lets a snapshot win over a request naming other bytes, size and source', async () => {
    const repoDir = freshRepo();
    const bytes = rpm();
    await snapshot(repoDir, listing([HREF, bytes]), '1');
    const expected = { sha256: 'd'.repeat(64), size: 99, sourceRpm: 'impostor-9-9.fc44.src.rpm' };

    const known = await knownFile(`${repoDir}${HREF}`, expected, deps());

    expect(known).toMatchObject({ sha256: sha256(bytes), size: bytes.length, knownFrom: `a snapshot of ${repoDir}` });
    expect(known?.facts.source_name).toBe('gadget-suite');
  });

  it('falls back to the request when the snapshot lists the file with a SHA-1 only', async () => {
    const repoDir = freshRepo();
    const bytes = rpm();
    await snapshot(repoDir, listing([HREF, bytes]), '1', (text) =>
      text.replace(
        /<checksum type="sha256" pkgid="YES">[0-9a-f]{64}<\/checksum>/,
        `<checksum type="sha" pkgid="YES">${'1'.repeat(40)}</checksum>`,
      ),
    );

    expect(await knownFile(`${repoDir}${HREF}`, undefined, deps())).toBeUndefined();
    expect(await knownFile(`${repoDir}${HREF}`, { sha256: sha256(bytes) }, deps())).toMatchObject({
      sha256: sha256(bytes),
      knownFrom: 'the request',
    });
  });

  it("does not take a listing of another repository's file (xml:base) for this path", async () => {
    const repoDir = freshRepo();
    await snapshot(repoDir, listing([HREF, rpm()]), '1', (text) =>
      text.replace('<location href=', '<location xml:base="https://elsewhere.example/repo/" href='),
    );

    expect(await knownFile(`${repoDir}${HREF}`, undefined, deps())).toBeUndefined();
  });

  it(`searches the newest ${MAX_SNAPSHOTS_SEARCHED} snapshots, no more`, async () => {
    const repoDir = freshRepo();
    const bytes = rpm();
    const path = `${repoDir}${HREF}`;
    const fromRequest = { sha256: 'e'.repeat(64) };
    await snapshot(repoDir, listing([HREF, bytes]), '0');
    for (let revision = 1; revision < MAX_SNAPSHOTS_SEARCHED; revision += 1) {
      await snapshot(repoDir, listing([other(revision), rpm(other(revision))]), String(revision));
    }
    // The listing one is the oldest of those searched: still searched.
    expect(await knownFile(path, fromRequest, deps())).toMatchObject({ sha256: sha256(bytes) });

    await snapshot(repoDir, listing([other(99), rpm(other(99))]), String(MAX_SNAPSHOTS_SEARCHED));

    // The 17th newest: known only from the request now.
    expect(await knownFile(path, fromRequest, deps())).toMatchObject({
      sha256: fromRequest.sha256,
      knownFrom: 'the request',
    });
  }, 60_000);

  it('skips a snapshot in the history whose primary.xml is gone (expired), not failing the rescue', async () => {
    const repoDir = freshRepo();
    const bytes = rpm();
    const { primaryGz } = await snapshot(repoDir, listing([HREF, bytes]), '1');
    await snapshot(repoDir, listing([other(1), rpm(other(1))]), '2');
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: blobKey(repoDir, 'sha256', sha256(primaryGz)) }));

    expect(await knownFile(`${repoDir}${HREF}`, { sha256: 'f'.repeat(64) }, deps())).toMatchObject({
      sha256: 'f'.repeat(64),
      knownFrom: 'the request',
    });
  });
});
