/**
 * docs/time-travel.md's offline walkthrough, run as written: its start block,
 * then the walkthrough, which stops what the start block started. Only its
 * first line is changed, as a reader would change it: ports free now and a
 * directory of the test's own, so something else on 8090 (or a run beside
 * this one) does not matter. The baseurl at the first snapshot's time still
 * lists the package the repository dropped, today's does not, and the
 * listing shows both snapshots. A demo that cannot start must end within a
 * minute and say why, having stopped what it started. Each run is a process
 * group of its own, stopped whole even when a test fails or jest is
 * interrupted (see the helper).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  becomesFree,
  bindable,
  DEMO_MINUTE_MS,
  freePort,
  listensOn,
  portTakenHint,
  readerEnvironment,
  ShellRun,
  shellBlocksOf,
  stopShellRuns,
  withDemoVariables,
  withPortTaken,
} from './helpers/readme-shell.js';
import { requireE2eTools } from './helpers/rpm-fixtures.js';

const MINUTE = DEMO_MINUTE_MS;
const PAGE = 'docs/time-travel.md';
const [start = '', walkthrough = ''] = shellBlocksOf('## Try it offline', PAGE);

/**
 * The package count of the `primary` metadata dnf downloaded for `repo` into
 * the walkthrough's installroot; undefined when dnf downloaded none (Debian's
 * dnf skips an unreachable repository and exits 0, even under `-q`).
 */
const packagesInPrimary = async (dir: string, repo: string): Promise<number | undefined> => {
  const cache = join(dir, 'dnf-root/var/cache/dnf');
  const repoDir = (await readdir(cache).catch(() => [])).find((name) => name.startsWith(`${repo}-`));
  if (repoDir === undefined) return undefined;
  const repodata = join(cache, repoDir, 'repodata');
  const primary = (await readdir(repodata)).find((name) => name.endsWith('-primary.xml.gz'));
  if (primary === undefined) return undefined;
  const xml = gunzipSync(await readFile(join(repodata, primary))).toString('utf8');
  const count = /<metadata\b[^>]*\bpackages="(\d+)"/.exec(xml)?.[1];
  return count === undefined ? undefined : Number(count);
};

describe("docs/time-travel.md's offline walkthrough", () => {
  const dirs: string[] = [];
  const demoDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rpm-cache-time-travel-demo-'));
    dirs.push(dir);
    return dir;
  };

  beforeAll(async () => {
    await requireE2eTools(['createrepo_c', 'dnf']);
  });

  afterAll(async () => {
    await stopShellRuns();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('chooses its ports on its first line only, waits only with bounds and stops by pid', () => {
    const [first = '', ...rest] = `${start}${walkthrough}`.split('\n');

    expect(first).toMatch(/^PORT=8090 ORIGIN_PORT=8091 DEMO=\$\(mktemp -d\)$/);
    // A port written below the first line would be one the reader's change does not reach.
    expect(rest.join('\n')).not.toMatch(/\b80[89]\d\b/);
    // `until`/`while` loops waited for ever on a stack that had already exited.
    expect(`${start}${walkthrough}`).not.toMatch(/\b(?:until|while)\b/);
    for (const loop of `${start}${walkthrough}`.match(/\bfor\b[^;]*;/g) ?? []) {
      expect(loop).toMatch(/^for i in \$\(seq \d+\);$/);
    }
    expect(`${start}${walkthrough}`).not.toMatch(/pkill|killall|kill %/);
    expect(walkthrough.trimEnd().split('\n').at(-1)).toMatch(/^kill \$STACK_PID \$ORIGIN_PID\b/);
  });

  it(
    'lists the dropped package at the first snapshot’s time and not today, then leaves nothing listening',
    async () => {
      // Prepare
      const variables = { port: await freePort(), originPort: await freePort(), dir: await demoDir() };

      // Act
      const run = ShellRun.start(`${withDemoVariables(start, variables)}\n${walkthrough}\nwait\n`, {
        env: readerEnvironment(),
        timeoutMs: 2 * MINUTE,
      });
      const result = await run.result;

      // Assess
      expect(result).toMatchObject({ code: 0, timedOut: false });
      expect(result.stdout).toMatch(
        new RegExp(`^rpm-cache listening on http://127\\.0\\.0\\.1:${variables.port}\\b`, 'm'),
      );
      const listing = /^\{$[\s\S]*?^\}$/m.exec(result.stdout)?.[0] ?? '{}';
      const { snapshots } = JSON.parse(listing) as { snapshots?: { current: boolean }[] };
      expect(snapshots?.map(({ current }) => current)).toEqual([true, false]);
      // dnf's columns: name.arch, version, repository: listed by `then` only.
      const listed = [...result.stdout.matchAll(/^demo-c\+\+\.noarch\s+(\S+)\s+(\S+)$/gm)].map(([, evr, repo]) => [
        evr,
        repo,
      ]);
      expect(listed).toEqual([['1.0^20260101git-1', 'then']]);
      // dnf lists nothing, silently, also for a repository it could not reach: its metadata says which.
      expect(await packagesInPrimary(variables.dir, 'now')).toBe(0);
      expect(await packagesInPrimary(variables.dir, 'then')).toBe(1);
      expect(await listensOn(variables.port)).toBe(false);
      expect(await listensOn(variables.originPort)).toBe(false);
      await run.stop();
    },
    3 * MINUTE,
  );

  it('with its port taken, ends within a minute, non-zero, naming a free port to use, its origin stopped', async () => {
    await withPortTaken(
      'port',
      await demoDir(),
      (variables) => withDemoVariables(start, variables),
      async ({ result, variables }) => {
        expect(result.timedOut).toBe(false);
        expect(result.ms).toBeLessThan(MINUTE);
        expect(result.code).not.toBe(0);
        const hint = portTakenHint(variables.port).exec(result.stdout);
        expect(hint).not.toBeNull();
        const suggested = Number(hint?.[1]);
        expect([variables.port, variables.originPort]).not.toContain(suggested);
        expect(await bindable(suggested)).toBe(true);
        expect(result.stdout).toContain('demo stopped');
        expect(await becomesFree(variables.originPort)).toBe(true);
      },
    );
  }, 90_000);

  it('pasted whole with its port taken, still ends within a minute and says which port to use', async () => {
    // Both blocks at once, as a reader who pastes the section does.
    await withPortTaken(
      'port',
      await demoDir(),
      (variables) => `${withDemoVariables(start, variables)}\n${walkthrough}`,
      async ({ result, variables }) => {
        expect(result.timedOut).toBe(false);
        expect(result.ms).toBeLessThan(MINUTE);
        expect(result.stdout).toMatch(portTakenHint(variables.port));
        expect(await becomesFree(variables.originPort)).toBe(true);
      },
    );
  }, 90_000);

  it("with the origin's port taken, shows the origin's error and stops the stack", async () => {
    await withPortTaken(
      'originPort',
      await demoDir(),
      (variables) => withDemoVariables(start, variables),
      async ({ result, variables }) => {
        expect(result).toMatchObject({ timedOut: false });
        expect(result.code).not.toBe(0);
        expect(result.stdout).toContain('Address already in use');
        expect(result.stdout).toContain('demo stopped');
        expect(await becomesFree(variables.port)).toBe(true);
      },
    );
  }, 90_000);
});
