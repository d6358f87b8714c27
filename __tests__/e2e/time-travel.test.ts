/**
 * A repository as it was at a time, end to end: real RPMs and createrepo_c
 * metadata on a mirror at 127.0.0.1, the local stack checking the repository
 * on a schedule (SNAPSHOT_REPOSITORIES), and real dnf and zypper in fresh
 * roots with `/@<time>/` baseurls.
 *
 * The repository moves on: plainpkg 1.0 is replaced by 1.1 and the mirror
 * deletes 1.0. A baseurl at a time between the two snapshots still installs
 * 1.0, byte for byte; one after the second gives 1.1; both with the mirror
 * answering 503 too.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runCli } from '../../src/cli/main.js';
import { formatSnapshotTime, parseSnapshotTime } from '../../src/commons/snapshot-history.js';
import { dnfDownload, filesIn, zypperDownload, zypperPackagesDir } from '../helpers/package-clients.js';
import {
  buildRpm,
  createRepo,
  readTree,
  requireE2eTools,
  rpmFileName,
  type TestPackage,
} from '../helpers/rpm-fixtures.js';
import { startTestStack, type TestStack } from '../helpers/test-stack.js';

const REPO = 'pub/fedora/linux/updates/44/Everything/x86_64/';
const OLD: TestPackage = { name: 'plainpkg', version: '1.0', release: '1' };
const NEW: TestPackage = { name: 'plainpkg', version: '1.1', release: '1' };

interface Listed {
  readonly time: string;
  readonly current: boolean;
  readonly until?: string;
  readonly repomdSha256: string;
  readonly path: string;
}

describe('time travel: a repository as it was, through dnf and zypper', () => {
  let test: TestStack;
  const built = new Map<TestPackage, Buffer>();
  let runs = 0;
  let before: string;
  let first: Listed;
  let second: Listed;
  let between: string;

  const stackUrl = (path: string) => `${test.stack.url}/${path}`;
  const fresh = (name: string) => {
    runs += 1;
    return join(test.work, `${name}-${runs}`);
  };

  /** The mirror serves exactly `pkg` and its metadata: the other version's RPM and metadata are gone. */
  const publish = async (pkg: TestPackage) => {
    const local = join(test.work, 'mirror', String(runs));
    runs += 1;
    await mkdir(join(local, 'Packages'), { recursive: true });
    await writeFile(join(local, 'Packages', rpmFileName(pkg)), built.get(pkg) ?? Buffer.alloc(0));
    await createRepo(local);
    test.origin.files.clear();
    for (const [path, bytes] of await readTree(local)) test.origin.files.set(`${REPO}${path}`, bytes);
    await rm(local, { recursive: true });
  };

  const listing = async (): Promise<readonly Listed[]> => {
    const response = await fetch(stackUrl(`@/${REPO}`), { headers: { accept: 'application/json' } });
    if (response.status === 404) return [];
    expect(response.status).toBe(200);
    return ((await response.json()) as { snapshots: Listed[] }).snapshots;
  };

  const waitFor = async <T>(what: string, probe: () => Promise<T | undefined>, deadlineMs = 30_000): Promise<T> => {
    const deadline = Date.now() + deadlineMs;
    while (Date.now() < deadline) {
      const value = await probe();
      if (value !== undefined) return value;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  /** A fresh dnf root downloads plainpkg from `baseUrl`: what it got. */
  const dnfGets = async (baseUrl: string) => {
    const downloadDir = fresh('dnf-download');
    const run = await dnfDownload({ installroot: fresh('dnf-root'), baseUrl, downloadDir }, ['plainpkg']);
    return { run, files: await filesIn(downloadDir), downloadDir };
  };

  const zypperGets = async (baseUrl: string) => {
    const root = fresh('zypper-root');
    const run = await zypperDownload({ root, baseUrl }, ['plainpkg']);
    return { run, files: await filesIn(zypperPackagesDir(root)), dir: zypperPackagesDir(root) };
  };

  const expectBoth = async (baseUrl: string, pkg: TestPackage) => {
    const dnf = await dnfGets(baseUrl);
    expect(dnf.run).toMatchObject({ code: 0 });
    expect(dnf.files).toEqual([rpmFileName(pkg)]);
    expect(await readFile(join(dnf.downloadDir, rpmFileName(pkg)))).toEqual(built.get(pkg));

    const zypper = await zypperGets(baseUrl);
    expect(zypper.run).toMatchObject({ code: 0 });
    expect(zypper.files).toEqual([rpmFileName(pkg)]);
    expect(await readFile(join(zypper.dir, rpmFileName(pkg)))).toEqual(built.get(pkg));
  };

  beforeAll(async () => {
    await requireE2eTools(['rpmbuild', 'createrepo_c', 'dnf', 'zypper']);
    test = await startTestStack({
      HOST: '127.0.0.1',
      ORIGIN_HEAD_TIMEOUT: '1',
      S3_BUCKET_NAME: 'rpm-cache-time-travel',
      SNAPSHOT_REPOSITORIES: REPO,
      // Every 1.2 s: the schedule, not a client, takes the second snapshot.
      SNAPSHOT_EVERY_MINUTES: '0.02',
    });
    for (const pkg of [OLD, NEW]) {
      const rpm = await buildRpm(pkg, join(test.work, `build-${pkg.version}`), join(test.work, 'rpms'));
      built.set(pkg, await readFile(rpm));
    }

    before = formatSnapshotTime(new Date(Date.now() - 1000));
    await publish(OLD);
    [first] = (await waitFor('the first snapshot', async () => {
      const snapshots = await listing();
      return snapshots.length === 1 ? snapshots : undefined;
    })) as [Listed];
    // A client of today's repository: plainpkg 1.0 goes through the cache (and is kept).
    expect((await dnfGets(stackUrl(REPO))).files).toEqual([rpmFileName(OLD)]);
    await waitFor('plainpkg 1.0 stored', async () => {
      const response = await fetch(stackUrl(`${REPO}Packages/${rpmFileName(OLD)}?rpm-cache=stored`), {
        method: 'HEAD',
        redirect: 'manual',
      });
      return response.status === 302 ? true : undefined;
    });

    // A second later the repository moves on, and the mirror deletes 1.0.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await publish(NEW);
    const both = await waitFor('the second snapshot', async () => {
      const snapshots = await listing();
      return snapshots.length === 2 ? snapshots : undefined;
    });
    [second, first] = both as [Listed, Listed];
    between = formatSnapshotTime(new Date((parseSnapshotTime(first.time)?.getTime() ?? 0) + 1000));
    // The cache answers the last 10 s as the future (they could still change): wait until both times are older.
    const settledAt = (parseSnapshotTime(second.time)?.getTime() ?? 0) + 11_000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, settledAt - Date.now())));
    expect((await dnfGets(stackUrl(REPO))).files).toEqual([rpmFileName(NEW)]);
  }, 180_000);

  afterAll(async () => {
    await test?.close();
  });

  it('lists both snapshots, newest first, the first until the second', () => {
    expect(second).toMatchObject({ current: true, path: `/@${second.time}/${REPO}` });
    expect(first).toMatchObject({ current: false, until: second.time });
    expect(between < second.time).toBe(true);
  });

  it('rpm-cache snapshots prints both, with the baseurls that reach them', async () => {
    let stdout = '';
    const io = {
      stdout: new Writable({
        write: (chunk: Buffer, _encoding, done) => {
          stdout += chunk.toString('utf8');
          done();
        },
      }),
      stderr: new Writable({ write: (_chunk, _encoding, done) => done() }),
      env: {},
    };
    expect(await runCli(['snapshots', '--cache', test.stack.url, REPO], io)).toBe(0);
    expect(stdout).toContain(`${test.stack.url}/@${first.time}/${REPO}`);
    expect(stdout).toContain(`${test.stack.url}/@${second.time}/${REPO}`);
  });

  it('installs plainpkg 1.0, byte for byte, from a time between the two snapshots, though the mirror deleted it', async () => {
    expect(test.origin.files.has(`${REPO}Packages/${rpmFileName(OLD)}`)).toBe(false);
    await expectBoth(stackUrl(`@${between}/${REPO}`), OLD);
  });

  it('installs plainpkg 1.1 from a time after the second snapshot', async () => {
    await expectBoth(stackUrl(`@${second.time}/${REPO}`), NEW);
  });

  it('answers both times from the snapshots while the mirror answers 503', async () => {
    // 1.1 through the cache first, so it is stored for the outage.
    await waitFor('plainpkg 1.1 stored', async () => {
      const response = await fetch(stackUrl(`${REPO}Packages/${rpmFileName(NEW)}?rpm-cache=stored`), {
        method: 'HEAD',
        redirect: 'manual',
      });
      return response.status === 302 ? true : undefined;
    });
    test.origin.defaultBehaviour = { kind: 'status', status: 503 };
    try {
      await expectBoth(stackUrl(`@${between}/${REPO}`), OLD);
      await expectBoth(stackUrl(`@${second.time}/${REPO}`), NEW);
    } finally {
      test.origin.defaultBehaviour = undefined;
      await test.originSeenUp();
    }
  });

  it('answers 404 before the history, with the first snapshot named, and 400 for a malformed time', async () => {
    const early = await fetch(stackUrl(`@${before}/${REPO}repodata/repomd.xml`), { redirect: 'manual' });
    expect(early.status).toBe(404);
    expect(await early.text()).toContain(first.time);
    expect((await dnfGets(stackUrl(`@${before}/${REPO}`))).run.code).not.toBe(0);

    const malformed = await fetch(stackUrl(`@2026-11-01/${REPO}repodata/repomd.xml`), { redirect: 'manual' });
    expect(malformed.status).toBe(400);
    expect(await malformed.text()).toContain('YYYYMMDDTHHMMSSZ');
  });
});
