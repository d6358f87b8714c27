/**
 * Stock repository files through the cache, end to end: a repository file
 * with only `metalink=<cache>/metalink?repo=test-44&arch=$basearch`, real dnf
 * in fresh installroots, the local stack, and a stand-in for the mirror
 * manager on 127.0.0.1 that answers in mirrormanager's format for whatever
 * repomd.xml the origin serves (and lists the origin as the one mirror).
 *
 * Each scenario has a repository directory of its own (the stand-in maps
 * `repo=` to it), so a snapshot one takes never vouches for another's.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { snapshotTimeOf } from '../../src/commons/snapshot-history.js';
import { readCurrentSnapshot } from '../../src/commons/snapshot-manifest.js';
import { OriginServer } from '../helpers/origin-server.js';
import { type ClientRun, dnf } from '../helpers/package-clients.js';
import {
  buildRpm,
  createRepo,
  readTree,
  requireE2eTools,
  rpmFileName,
  type TestPackage,
} from '../helpers/rpm-fixtures.js';
import { stackS3Client, startTestStack, type TestStack } from '../helpers/test-stack.js';

const FIRST: readonly TestPackage[] = [
  { name: 'metalink-a', version: '1.0', release: '1' },
  { name: 'metalink-b++', version: '2.0~rc1', release: '1' },
];
/** Added by the repository's next version. */
const ADDED: TestPackage = { name: 'metalink-c', version: '3.0', release: '1' };
/** metalink-a's next version. */
const NEWER: TestPackage = { name: 'metalink-a', version: '1.1', release: '1' };
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('dnf with a metalink= repository file, through the cache', () => {
  let test: TestStack;
  let service: OriginServer;
  let s3: S3Client;
  /** Each package's RPM, by file name. */
  const built = new Map<string, Buffer>();
  /** `repo=` → the repository directory the stand-in names for it. */
  const repositories = new Map<string, string>();
  /** What the stand-in vouches for instead of the origin's repomd.xml, when set (a stale or tampered metalink). */
  let vouchedInstead: string | undefined;
  /** Set: the stand-in answers 503 to everything (the mirror manager down). */
  let serviceDown = false;
  let scenarios = 0;

  const origin = () => test.origin;

  /** The stand-in: mirrormanager's format, the origin's repomd.xml hashed, the origin the one mirror. */
  const answerMetalink = (url: URL) => {
    const repoDir = repositories.get(url.searchParams.get('repo') ?? '');
    const repomd = repoDir === undefined ? undefined : origin().files.get(`${repoDir}repodata/repomd.xml`);
    if (repoDir === undefined || repomd === undefined) {
      return { status: 404, body: '<?xml version="1.0"?><!-- error: invalid repo or arch -->' };
    }
    const hash = vouchedInstead ?? sha256(repomd);
    const body = [
      '<?xml version="1.0" encoding="utf-8"?>',
      '<metalink version="3.0" xmlns="http://www.metalinker.org/" type="dynamic" pubdate="Mon, 07 Dec 2026 09:12:41 GMT" generator="mirrormanager" xmlns:mm0="http://fedorahosted.org/mirrormanager">',
      ' <files>',
      '  <file name="repomd.xml">',
      `   <mm0:timestamp>${Math.floor(Date.now() / 1000)}</mm0:timestamp>`,
      `   <size>${repomd.length}</size>`,
      '   <verification>',
      `     <hash type="sha256">${hash}</hash>`,
      '   </verification>',
      '   <resources maxconnections="1">',
      `    <url protocol="http" type="http" location="XX" preference="100">${origin().baseUrl}/${repoDir}repodata/repomd.xml</url>`,
      '   </resources>',
      '  </file>',
      ' </files>',
      '</metalink>',
      '',
    ].join('\n');
    return { status: 200, body };
  };

  /** A new repository directory holding `packages`, indexed by createrepo_c, on the origin; `repo=` names it. */
  const publish = async (repo: string, packages: readonly TestPackage[]) => {
    const repoDir = repositories.get(repo) ?? `pub/fedora/linux/updates/44/${repo}/x86_64/`;
    repositories.set(repo, repoDir);
    const local = join(test.work, 'mirror', repoDir);
    // The mirror keeps only what this version lists, as a mirror deletes an old version's RPMs.
    await rm(local, { recursive: true, force: true });
    await mkdir(join(local, 'Packages'), { recursive: true });
    for (const pkg of packages) {
      await writeFile(join(local, 'Packages', rpmFileName(pkg)), built.get(rpmFileName(pkg)) ?? Buffer.alloc(0));
    }
    await createRepo(local);
    for (const path of [...origin().files.keys()]) if (path.startsWith(repoDir)) origin().files.delete(path);
    for (const [path, bytes] of await readTree(local)) origin().files.set(`${repoDir}${path}`, bytes);
    return repoDir;
  };

  const fresh = (name: string) => {
    scenarios += 1;
    return join(test.work, `${name}-${scenarios}`);
  };

  /** A repository file that names only the metalink (at time `at`, when given), in a directory of its own (dnf's reposdir). */
  const repoFile = async (repo: string, at?: string) => {
    const reposdir = fresh('repos');
    await mkdir(reposdir, { recursive: true });
    await writeFile(
      join(reposdir, 'test.repo'),
      [
        `[${repo}]`,
        `name=${repo}`,
        `metalink=${test.stack.url}/${at === undefined ? '' : `@${at}/`}metalink?repo=${repo}&arch=$basearch`,
        'countme=1',
        'gpgcheck=0',
        '',
      ].join('\n'),
    );
    return reposdir;
  };

  /** dnf in `installroot` (a fresh one by default) with only that repository file. */
  const dnfThroughMetalink = async (
    repo: string,
    packages: readonly TestPackage[],
    installroot = fresh('root'),
    at?: string,
  ) => {
    const downloadDir = fresh('download');
    const run = await dnf(installroot, [
      `--setopt=reposdir=${await repoFile(repo, at)}`,
      `--repo=${repo}`,
      'install',
      '--downloadonly',
      `--downloaddir=${downloadDir}`,
      ...packages.map((pkg) => pkg.name),
    ]);
    return { run, downloadDir };
  };

  const expectDownloaded = async (
    { run, downloadDir }: { run: ClientRun; downloadDir: string },
    packages: readonly TestPackage[],
  ) => {
    expect(run).toMatchObject({ code: 0 });
    for (const pkg of packages) {
      expect(await readFile(join(downloadDir, rpmFileName(pkg)))).toEqual(built.get(rpmFileName(pkg)));
    }
  };

  const waitFor = async <T>(what: string, probe: () => Promise<T | undefined>, deadlineMs = 20_000): Promise<T> => {
    const deadline = Date.now() + deadlineMs;
    while (Date.now() < deadline) {
      const value = await probe();
      if (value !== undefined) return value;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  const cached = async (key: string): Promise<true | undefined> => {
    try {
      await s3.send(new GetObjectCommand({ Bucket: test.stack.bucketName, Key: key }));
      return true;
    } catch {
      return undefined;
    }
  };

  beforeAll(async () => {
    await requireE2eTools(['rpmbuild', 'createrepo_c', 'dnf']);
    service = await OriginServer.start();
    service.defaultBehaviour = {
      kind: 'custom',
      respond: (request, response) => {
        if (serviceDown) {
          response.writeHead(503, { 'content-type': 'text/html' }).end('<html>Service Unavailable</html>');
          return;
        }
        const { status, body } = answerMetalink(new URL(request.url ?? '/', 'http://service'));
        response.writeHead(status, { 'content-type': 'application/metalink+xml' }).end(body);
      },
    };
    test = await startTestStack({
      HOST: '127.0.0.1',
      ORIGIN_HEAD_TIMEOUT: '1',
      S3_BUCKET_NAME: 'rpm-cache-metalink',
      METALINK_URL: `${service.baseUrl}/metalink`,
      // Every scenario here changes what the service answers between dnf runs: none is kept (the unit test keeps them).
      METALINK_ANSWER_TTL: '0',
    });
    s3 = stackS3Client(test.stack);
    for (const pkg of [...FIRST, ADDED, NEWER]) {
      const rpm = await buildRpm(pkg, join(test.work, `build-${pkg.name}-${pkg.version}`), join(test.work, 'rpms'));
      built.set(rpmFileName(pkg), await readFile(rpm));
    }
  });

  beforeEach(async () => {
    vouchedInstead = undefined;
    serviceDown = false;
    await service.reopen();
    service.requests.length = 0;
    await origin().reopen();
    origin().defaultBehaviour = undefined;
    origin().behaviours.clear();
    await test.originSeenUp();
  });

  afterAll(async () => {
    s3?.destroy();
    await service?.close();
    await test?.close();
  });

  it('installs with everything up, the query (countme included) reaching the service, every download through the cache', async () => {
    const repoDir = await publish('test-44', FIRST);
    const installroot = fresh('root');

    const result = await dnfThroughMetalink('test-44', FIRST, installroot);
    // libdnf adds countme to one of a root's first 4 metalink refreshes, chosen at random (COUNTME_BUDGET, as dnf's
    // own tests say): refresh until it has.
    const counted = () => service.requests.some((request) => request.url.includes('countme='));
    const reposdir = await repoFile('test-44');
    for (let refresh = 0; refresh < 4 && !counted(); refresh += 1) {
      expect(await dnf(installroot, [`--setopt=reposdir=${reposdir}`, 'makecache', '--refresh'])).toMatchObject({
        code: 0,
      });
    }

    await expectDownloaded(result, FIRST);
    const asked = service.requests.map((request) => new URL(request.url, 'http://service').searchParams);
    expect(asked.every((query) => query.get('repo') === 'test-44' && query.get('arch') !== null)).toBe(true);
    expect(asked.filter((query) => /^\d+$/.test(query.get('countme') ?? ''))).toHaveLength(1);
    // ...as dnf sent it: what the cache logged of the client's query is what the service got.
    const queries = test.logs
      .linesOf('metalink')
      .map((line) => line.query)
      .filter((query) => String(query).startsWith('repo=test-44&'));
    expect(service.requests.map((request) => request.url.replace('/metalink?', ''))).toEqual(queries);
    // dnf asked the cache for repomd.xml and every package (the cache redirected it to the origin).
    const askedCache = test.logs.linesOf('request').map((line) => line.path);
    expect(askedCache).toContain(`${repoDir}repodata/repomd.xml`);
    for (const pkg of FIRST) expect(askedCache).toContain(`${repoDir}Packages/${rpmFileName(pkg)}`);
    const metalinkLines = test.logs.linesOf('metalink');
    expect(metalinkLines.at(-1)).toMatchObject({ outcome: 'rewritten', repository: repoDir });
  });

  it('refuses a metalink whose hash does not match what is served: the check is real', async () => {
    await publish('stale-44', FIRST);
    vouchedInstead = 'f'.repeat(64);

    const { run } = await dnfThroughMetalink('stale-44', FIRST);

    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/checksum doesn't match/);
  });

  it('installs from the snapshot while the origin fails and the service names the newer repomd.xml', async () => {
    const repoDir = await publish('moved-44', FIRST);
    await expectDownloaded(await dnfThroughMetalink('moved-44', FIRST), FIRST);
    const snapshot = await waitFor(
      'the snapshot',
      async () => (await readCurrentSnapshot(s3, test.stack.bucketName, repoDir))?.manifest,
    );
    for (const pkg of FIRST)
      await waitFor(`${pkg.name} cached`, () => cached(`cache/${repoDir}Packages/${rpmFileName(pkg)}`));
    await publish('moved-44', [...FIRST, ADDED]);
    expect(sha256(origin().files.get(`${repoDir}repodata/repomd.xml`) ?? Buffer.alloc(0))).not.toBe(snapshot.id);
    origin().defaultBehaviour = { kind: 'status', status: 503 };

    const result = await dnfThroughMetalink('moved-44', FIRST);

    await expectDownloaded(result, FIRST);
    const metalinkLines = test.logs.linesOf('metalink');
    expect(metalinkLines.at(-1)).toMatchObject({
      outcome: 'rewritten',
      snapshotId: snapshot.id,
      snapshotVouched: 'added',
    });
  });

  it('installs in a fresh root with the service down too: the metalink written from the snapshot of the repository last mapped', async () => {
    const repoDir = await publish('down-44', FIRST);
    await expectDownloaded(await dnfThroughMetalink('down-44', FIRST), FIRST);
    expect(test.logs.linesOf('metalink').filter((line) => line.repository === repoDir)).toContainEqual(
      expect.objectContaining({ outcome: 'rewritten', mapping: 'written' }),
    );
    const snapshot = await waitFor(
      'the snapshot',
      async () => (await readCurrentSnapshot(s3, test.stack.bucketName, repoDir))?.manifest,
    );
    for (const pkg of FIRST)
      await waitFor(`${pkg.name} cached`, () => cached(`cache/${repoDir}Packages/${rpmFileName(pkg)}`));
    serviceDown = true;
    origin().defaultBehaviour = { kind: 'status', status: 503 };

    const result = await dnfThroughMetalink('down-44', FIRST);

    await expectDownloaded(result, FIRST);
    expect(service.requests.length).toBeGreaterThan(0);
    expect(test.logs.linesOf('metalink').at(-1)).toMatchObject({
      outcome: 'written-from-snapshot',
      repository: repoDir,
      snapshotId: snapshot.id,
      reason: 'answered 503',
    });
    // ...and with the service not even listening.
    await service.close();
    await expectDownloaded(await dnfThroughMetalink('down-44', FIRST), FIRST);
    expect(test.logs.linesOf('metalink').at(-1)).toMatchObject({
      outcome: 'written-from-snapshot',
      reason: expect.stringContaining('unreachable'),
    });
  });

  it('installs the version current at a time through /@<T>/metalink, after the repository moved on and the mirror deleted it', async () => {
    const repoDir = await publish('travel-44', FIRST);
    await expectDownloaded(await dnfThroughMetalink('travel-44', FIRST), FIRST);
    const first = await waitFor(
      'the first snapshot',
      async () => (await readCurrentSnapshot(s3, test.stack.bucketName, repoDir))?.manifest,
    );
    for (const pkg of FIRST)
      await waitFor(`${pkg.name} cached`, () => cached(`cache/${repoDir}Packages/${rpmFileName(pkg)}`));
    const at = snapshotTimeOf(first.createdAt) ?? '';
    // Snapshot times are to the second: the next version becomes current at a later one.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await publish('travel-44', [NEWER]);
    expect(origin().files.has(`${repoDir}Packages/${rpmFileName(FIRST[0] as TestPackage)}`)).toBe(false);
    await expectDownloaded(await dnfThroughMetalink('travel-44', [NEWER]), [NEWER]);
    const second = await waitFor('the second snapshot', async () => {
      const manifest = (await readCurrentSnapshot(s3, test.stack.bucketName, repoDir))?.manifest;
      return manifest !== undefined && manifest.id !== first.id ? manifest : undefined;
    });
    // The cache answers the last 10 s as the future: wait until the second snapshot's time is older.
    const settledAt = Date.parse(second.createdAt) + 11_000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, settledAt - Date.now())));

    const result = await dnfThroughMetalink('travel-44', [FIRST[0] as TestPackage], fresh('root'), at);

    await expectDownloaded(result, [FIRST[0] as TestPackage]);
    expect(test.logs.linesOf('metalink').at(-1)).toMatchObject({
      outcome: 'time-travel',
      timeTravel: 'served',
      repository: repoDir,
      snapshotId: first.id,
      time: at,
    });
    // The same repository file without the time installs today's version.
    await expectDownloaded(await dnfThroughMetalink('travel-44', [NEWER]), [NEWER]);
  }, 120_000);

  it('fails clearly for a repo the service never answered through the cache, with the service down', async () => {
    serviceDown = true;

    const { run } = await dnfThroughMetalink('never-44', FIRST);

    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/404/);
    expect(test.logs.linesOf('metalink').at(-1)).toMatchObject({ outcome: 'unknown', reason: 'answered 503' });
  });
});
