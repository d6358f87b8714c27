/**
 * A mirror outage, end to end: real RPMs and createrepo_c metadata on a
 * mirror at 127.0.0.1, the local stack, and real dnf and zypper clients, each
 * in a fresh root (no metadata of their own, as in a new CI container).
 *
 * Every scenario has a repository directory of its own, so what the stack's
 * handler remembers about one (a file the origin lost) never meets another;
 * each starts with the whole mirror up, and the origin back to health.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { readCurrentSnapshot, type SnapshotManifest } from '../../src/commons/snapshot-manifest.js';
import type { OriginBehaviour } from '../helpers/origin-server.js';
import { dnfDownload, filesIn, zypperDownload, zypperPackagesDir } from '../helpers/package-clients.js';
import {
  buildRpm,
  createRepo,
  readTree,
  requireE2eTools,
  rpmFileName,
  type TestPackage,
} from '../helpers/rpm-fixtures.js';
import { stackS3Client, startTestStack, type TestStack } from '../helpers/test-stack.js';

const ORIGIN_HEAD_TIMEOUT_S = 1;
const FIRST: readonly TestPackage[] = [
  { name: 'outage-a', version: '1.0', release: '1' },
  { name: 'outage-b++', version: '2.0~rc1', release: '1' },
];
/** Added by the repository's next version. */
const ADDED: TestPackage = { name: 'outage-c', version: '3.0^20260101git', release: '1' };

describe('a repository through the cache while its mirror is down', () => {
  let test: TestStack;
  let s3: S3Client;
  const built = new Map<string, Buffer>();
  let scenarios = 0;

  const origin = () => test.origin;
  const answerEverything = async (behaviour: OriginBehaviour) => {
    origin().defaultBehaviour = behaviour;
  };
  const stackUrl = (path: string) => `${test.stack.url}/${path}`;

  /** A new repository directory holding `packages`, indexed by createrepo_c, on the mirror. */
  const publish = async (repoDir: string, packages: readonly TestPackage[], { simpleNames = false } = {}) => {
    const local = join(test.work, 'mirror', repoDir);
    await mkdir(join(local, 'Packages'), { recursive: true });
    for (const pkg of packages) {
      await writeFile(join(local, 'Packages', rpmFileName(pkg)), built.get(pkg.name) ?? Buffer.alloc(0));
    }
    await createRepo(local, { simpleNames });
    // The mirror serves exactly this version: an older repodata/ is gone with it.
    for (const path of [...origin().files.keys()])
      if (path.startsWith(`${repoDir}repodata/`)) origin().files.delete(path);
    for (const [path, bytes] of await readTree(local)) origin().files.set(`${repoDir}${path}`, bytes);
  };

  const snapshotOf = async (repoDir: string): Promise<SnapshotManifest | undefined> =>
    (await readCurrentSnapshot(s3, test.stack.bucketName, repoDir))?.manifest;

  const waitFor = async <T>(what: string, probe: () => Promise<T | undefined>, deadlineMs = 20_000): Promise<T> => {
    const deadline = Date.now() + deadlineMs;
    while (Date.now() < deadline) {
      const value = await probe();
      if (value !== undefined) return value;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  const cachedObject = async (key: string): Promise<Buffer | undefined> => {
    try {
      const object = await s3.send(new GetObjectCommand({ Bucket: test.stack.bucketName, Key: key }));
      return Buffer.from((await object.Body?.transformToByteArray()) ?? []);
    } catch {
      return undefined;
    }
  };

  const ask = async (path: string, method = 'GET') => {
    const response = await fetch(stackUrl(path), { method, redirect: 'manual' });
    await response.arrayBuffer();
    return {
      status: response.status,
      xCache: response.headers.get('x-cache'),
      originStatus: response.headers.get('x-cache-origin-status'),
      location: response.headers.get('location'),
    };
  };

  /**
   * What a client with the origin up leaves behind: the repository's snapshot
   * (asked for through repomd.xml) and its packages cached.
   */
  const warm = async (repoDir: string, packages: readonly TestPackage[], previousId?: string) => {
    expect(await ask(`${repoDir}repodata/repomd.xml`)).toMatchObject({ status: 302, xCache: 'miss' });
    const manifest = await waitFor('the snapshot', async () => {
      const current = await snapshotOf(repoDir);
      return current !== undefined && current.id !== previousId ? current : undefined;
    });
    for (const pkg of packages) {
      const path = `${repoDir}Packages/${rpmFileName(pkg)}`;
      if ((await cachedObject(`cache/${path}`)) !== undefined) continue;
      await ask(path);
      await waitFor(`${path} cached`, () => cachedObject(`cache/${path}`));
    }
    return manifest;
  };

  const freshDir = (name: string) => {
    scenarios += 1;
    return join(test.work, `${name}-${scenarios}`);
  };
  /** A repository directory no other test uses. */
  const newRepoDir = (label: string) => {
    scenarios += 1;
    return `pub/fedora/linux/updates/44/${label.replace(/\W+/g, '-')}-${scenarios}/x86_64/`;
  };

  /** dnf and zypper, each in a fresh root, download `packages` through the cache: both get every byte right. */
  const expectClientsGet = async (repoDir: string, packages: readonly TestPackage[]) => {
    const downloadDir = freshDir('dnf-download');
    const dnfRun = await dnfDownload(
      { installroot: freshDir('dnf-root'), baseUrl: stackUrl(repoDir), downloadDir },
      packages.map((pkg) => pkg.name),
    );
    expect(dnfRun).toMatchObject({ code: 0 });
    for (const pkg of packages) {
      expect(await readFile(join(downloadDir, rpmFileName(pkg)))).toEqual(built.get(pkg.name));
    }

    const root = freshDir('zypper-root');
    const zypperRun = await zypperDownload(
      { root, baseUrl: stackUrl(repoDir) },
      packages.map((pkg) => pkg.name),
    );
    expect(zypperRun).toMatchObject({ code: 0 });
    expect(await filesIn(zypperPackagesDir(root))).toEqual(packages.map(rpmFileName).sort());
    for (const pkg of packages) {
      expect(await readFile(join(zypperPackagesDir(root), rpmFileName(pkg)))).toEqual(built.get(pkg.name));
    }
    return { dnfRun, zypperRun };
  };

  beforeAll(async () => {
    await requireE2eTools(['rpmbuild', 'createrepo_c', 'dnf', 'zypper']);
    test = await startTestStack({
      HOST: '127.0.0.1',
      ORIGIN_HEAD_TIMEOUT: String(ORIGIN_HEAD_TIMEOUT_S),
      S3_BUCKET_NAME: 'rpm-cache-outage',
    });
    s3 = stackS3Client(test.stack);
    for (const pkg of [...FIRST, ADDED]) {
      const rpm = await buildRpm(pkg, join(test.work, 'build'), join(test.work, 'rpms'));
      built.set(pkg.name, await readFile(rpm));
    }
  });

  beforeEach(async () => {
    await origin().reopen();
    origin().defaultBehaviour = undefined;
    origin().behaviours.clear();
    await test.originSeenUp();
  });

  afterAll(async () => {
    s3?.destroy();
    await test?.close();
  });

  describe.each([
    ['answers 503', () => answerEverything({ kind: 'status', status: 503 })],
    ['hangs', () => answerEverything({ kind: 'stall' })],
    ['is gone (404: the release moved away)', () => answerEverything({ kind: 'status', status: 404 })],
    ['refuses connections', () => origin().close()],
  ])('the origin %s', (name, breakOrigin) => {
    it('dnf and zypper in fresh roots get the repository from its last snapshot', async () => {
      const repoDir = newRepoDir(name);
      await publish(repoDir, FIRST);
      await warm(repoDir, FIRST);
      await breakOrigin();

      await expectClientsGet(repoDir, FIRST);
    });

    it('curl -I -L of a cached package ends in a 200 with the right length', async () => {
      const repoDir = newRepoDir(name);
      await publish(repoDir, FIRST);
      await warm(repoDir, FIRST);
      await breakOrigin();
      const [pkg] = FIRST;
      const path = `${repoDir}Packages/${rpmFileName(pkg as TestPackage)}`;

      const response = await fetch(stackUrl(path), { method: 'HEAD', redirect: 'follow' });

      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBe(String(built.get(pkg?.name ?? '')?.length));
    });
  });

  describe('the repository changes, then the origin fails', () => {
    it.each([
      ['checksum-named metadata', false],
      ['--simple-md-filenames metadata (overwritten in place)', true],
    ])('the next outage serves the new snapshot (%s)', async (_name, simpleNames) => {
      const repoDir = newRepoDir(simpleNames ? 'changes-simple' : 'changes-hashed');
      await publish(repoDir, FIRST, { simpleNames });
      const first = await warm(repoDir, FIRST);
      await publish(repoDir, [...FIRST, ADDED], { simpleNames });
      const second = await warm(repoDir, [...FIRST, ADDED], first.id);
      origin().defaultBehaviour = { kind: 'status', status: 503 };

      await expectClientsGet(repoDir, [...FIRST, ADDED]);
      expect(second.id).not.toBe(first.id);
    });
  });

  describe('a mirror mid-sync', () => {
    it('is never snapshot: the previous snapshot is served, every file consistent with its checksum', async () => {
      const repoDir = newRepoDir('mid-sync');
      await publish(repoDir, FIRST);
      const first = await warm(repoDir, FIRST);
      await publish(repoDir, [...FIRST, ADDED]);
      const primary = [...origin().files.keys()].find(
        (path) => path.startsWith(repoDir) && path.endsWith('primary.xml.gz'),
      );
      origin().files.delete(primary ?? '');
      test.logs.clear();

      expect(await ask(`${repoDir}repodata/repomd.xml`)).toMatchObject({ xCache: 'miss' });
      const snapshot = await waitFor('the snapshot run', async () =>
        test.logs.linesOf('snapshot').find((line) => line.path === `${repoDir}repodata/repomd.xml`),
      );
      origin().defaultBehaviour = { kind: 'status', status: 503 };

      expect(snapshot).toMatchObject({ outcome: 'incomplete' });
      expect((await snapshotOf(repoDir))?.id).toBe(first.id);
      await expectClientsGet(repoDir, FIRST);
    });
  });

  describe('snapshots you can trust', () => {
    it('an origin that answers 403 for the companions it lacks gets snapshots, and clients pass an outage', async () => {
      const repoDir = newRepoDir('forbidden-companions');
      await publish(repoDir, FIRST);
      for (const companion of ['repodata/repomd.xml.asc', 'repodata/repomd.xml.key', 'media.1/media']) {
        origin().behaviours.set(`${repoDir}${companion}`, { kind: 'status', status: 403 });
      }
      const manifest = await warm(repoDir, FIRST);
      origin().defaultBehaviour = { kind: 'status', status: 503 };

      expect(manifest.absent).toEqual(['repodata/repomd.xml.asc', 'repodata/repomd.xml.key', 'media.1/media']);
      await expectClientsGet(repoDir, FIRST);
    });

    it('an origin that goes back to an older repomd.xml leaves the newer snapshot current', async () => {
      const repoDir = newRepoDir('backwards');
      await publish(repoDir, FIRST);
      const older = new Map([...origin().files].filter(([path]) => path.startsWith(`${repoDir}repodata/`)));
      const first = await warm(repoDir, FIRST);
      // createrepo_c's <revision> is the time in seconds: the next version must be a second younger.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await publish(repoDir, [...FIRST, ADDED]);
      const newer = await warm(repoDir, [...FIRST, ADDED], first.id);
      // A lagging mirror of the pool answers now.
      for (const path of [...origin().files.keys()])
        if (path.startsWith(`${repoDir}repodata/`)) origin().files.delete(path);
      for (const [path, bytes] of older) origin().files.set(path, bytes);
      // The lagging mirror's own copy of the older version: this container triggered a snapshot of
      // the first copy already, and triggers once per version it sees (by ETag, else length).
      const lagging = Buffer.concat([
        older.get(`${repoDir}repodata/repomd.xml`) ?? Buffer.alloc(0),
        Buffer.from('<!-- served by a lagging mirror -->\n'),
      ]);
      origin().files.set(`${repoDir}repodata/repomd.xml`, lagging);
      const laggingId = createHash('sha256').update(lagging).digest('hex');
      test.logs.clear();

      expect(await ask(`${repoDir}repodata/repomd.xml`)).toMatchObject({ xCache: 'miss' });
      // The newer version's run may still be logging (it settles after its commit): wait for this one's line.
      const run = await waitFor('the snapshot run', async () =>
        test.logs.linesOf('snapshot').find((line) => line.snapshotId === laggingId),
      );

      expect(run).toMatchObject({ outcome: 'outdated' });
      expect((await snapshotOf(repoDir))?.id).toBe(newer.id);
      origin().defaultBehaviour = { kind: 'status', status: 503 };
      await expectClientsGet(repoDir, [...FIRST, ADDED]);
    });

    it('while the origin serves a new repomd.xml but fails on its signature, the client never gets the older one', async () => {
      const repoDir = newRepoDir('signature');
      await publish(repoDir, FIRST);
      origin().files.set(`${repoDir}repodata/repomd.xml.asc`, Buffer.from('signature of version 1'));
      const first = await warm(repoDir, FIRST);
      expect(first.files['repodata/repomd.xml.asc']).toBeDefined();
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await publish(repoDir, [...FIRST, ADDED]);
      origin().behaviours.set(`${repoDir}repodata/repomd.xml.asc`, { kind: 'status', status: 503 });

      const signature = await ask(`${repoDir}repodata/repomd.xml.asc`);

      expect(signature).toMatchObject({
        status: 302,
        xCache: 'bypass',
        location: `${origin().baseUrl}/${repoDir}repodata/repomd.xml.asc`,
      });
    });
  });

  describe('with the origin hanging', () => {
    it('one dnf run costs about one ORIGIN_HEAD_TIMEOUT, not one per request', async () => {
      const repoDir = newRepoDir('hanging-run');
      await publish(repoDir, FIRST);
      await warm(repoDir, FIRST);
      const up = await dnfDownload(
        { installroot: freshDir('dnf-root'), baseUrl: stackUrl(repoDir), downloadDir: freshDir('dnf-download') },
        FIRST.map((pkg) => pkg.name),
      );
      origin().defaultBehaviour = { kind: 'stall' };
      test.logs.clear();

      const down = await dnfDownload(
        { installroot: freshDir('dnf-root'), baseUrl: stackUrl(repoDir), downloadDir: freshDir('dnf-download') },
        FIRST.map((pkg) => pkg.name),
      );

      expect(up).toMatchObject({ code: 0 });
      expect(down).toMatchObject({ code: 0 });
      const requests = test.logs.linesOf('request').filter((line) => String(line.path).startsWith(repoDir));
      // repomd.xml, the metadata dnf reads and both packages: one waited for the origin, the rest did not.
      expect(requests.length).toBeGreaterThanOrEqual(4);
      expect(requests.filter((line) => line.originStatus === 'timeout')).toHaveLength(1);
      expect(requests.filter((line) => line.originStatus === 'assumed-offline')).toHaveLength(requests.length - 1);
      expect(down.ms - up.ms).toBeLessThan(ORIGIN_HEAD_TIMEOUT_S * 1000 + 1500);
    });
  });
});
