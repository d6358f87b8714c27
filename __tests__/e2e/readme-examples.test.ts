/**
 * The README's dnf, zypper and outage examples, run as written with real
 * dnf, zypper and createrepo_c, after the offline demo's start block (its
 * first line set to free ports and a directory of the test's own, as a reader
 * who changes them would), then stopped the way the README says.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  listensOn,
  readerEnvironment,
  type ShellResult,
  ShellRun,
  shellBlocksOf,
  stopShellRuns,
  withDemoVariables,
} from '../helpers/readme-shell.js';
import { requireE2eTools } from '../helpers/rpm-fixtures.js';

const RPM_NAME = 'demo-c++-1.0^20260101git-1.noarch.rpm';
const RPM = readFileSync(`__tests__/fixtures/${RPM_NAME}`);
const [start = ''] = shellBlocksOf('## Try it offline');
const [repository = '', dnf = '', zypper = ''] = shellBlocksOf('### With dnf and zypper');
const [outage = ''] = shellBlocksOf('### Through an outage');
const stop = /To stop the demo: `([^`]+)` in the same shell/.exec(readFileSync('README.md', 'utf8'))?.[1] ?? '';

/** The requests the stack logged (JSON lines: its output is a file), as `outcome path`. */
const stackRequests = async (dir: string): Promise<string[]> =>
  (await readFile(join(dir, 'stack.log'), 'utf8')).split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    const entry = JSON.parse(line) as { message?: unknown; outcome?: unknown; path?: unknown };
    return entry.message === 'request' ? [`${String(entry.outcome)} ${String(entry.path)}`] : [];
  });

describe("the README's examples with dnf and zypper", () => {
  const dirs: string[] = [];

  /** The demo's start block, then `blocks`, then the README's stop, in one shell, as a reader pastes them. */
  const runExamples = async (...blocks: string[]): Promise<{ result: ShellResult; dir: string; ports: number[] }> => {
    const dir = await mkdtemp(join(tmpdir(), 'rpm-cache-examples-'));
    dirs.push(dir);
    const variables = { port: await freePort(), originPort: await freePort(), dir };
    const script = [withDemoVariables(start, variables), ...blocks, stop, 'wait', ''].join('\n');
    const run = ShellRun.start(script, { env: readerEnvironment(), timeoutMs: 150_000 });
    const result = await run.result;
    await run.stop();
    return { result, dir, ports: [variables.port, variables.originPort] };
  };

  beforeAll(async () => {
    await requireE2eTools(['createrepo_c', 'dnf', 'zypper']);
  });

  afterAll(async () => {
    await stopShellRuns();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('explains --nogpgcheck, and every dnf and zypper command says yes by itself', () => {
    expect(dnf).toMatch(/^dnf -y --nogpgcheck /);
    expect(outage).toMatch(/^dnf -y --nogpgcheck /m);
    expect(zypper.match(/^zypper .*--non-interactive --no-gpg-checks /gm)).toHaveLength(2);
    const readme = readFileSync('README.md', 'utf8');
    expect(readme).toContain('The demo RPM is not signed, so dnf needs `--nogpgcheck`');
    expect(readme).toContain("With Fedora's repositories keep GPG checks on");
  });

  it('dnf downloads the RPM through the cache', async () => {
    const { result, dir, ports } = await runExamples(repository, dnf);

    expect(result).toMatchObject({ code: 0, timedOut: false });
    expect(await readFile(join(dir, 'dnf', RPM_NAME))).toEqual(RPM);
    expect(await stackRequests(dir)).toEqual(
      expect.arrayContaining(['miss repo/repodata/repomd.xml', `miss repo/${RPM_NAME}`]),
    );
    for (const port of ports) expect(await listensOn(port)).toBe(false);
  }, 180_000);

  it('zypper downloads the RPM through the cache', async () => {
    const { result, dir } = await runExamples(repository, zypper);

    expect(result).toMatchObject({ code: 0, timedOut: false });
    expect(await readFile(join(dir, 'zypper-root/var/cache/zypp/packages/demo', RPM_NAME))).toEqual(RPM);
    expect(await stackRequests(dir)).toContain(`miss repo/${RPM_NAME}`);
  }, 180_000);

  it('a fresh root installs from the snapshot and the cached RPM while the origin is down', async () => {
    const promised = [...outage.matchAll(/# (X-Cache: \w+, X-Cache-Origin-Status: [\w-]+)/g)].map(
      ([, answer = '']) => answer,
    );

    const { result, dir } = await runExamples(repository, dnf, outage);

    expect(result).toMatchObject({ code: 0, timedOut: false });
    expect(promised).toEqual([
      'X-Cache: stored, X-Cache-Origin-Status: 200',
      'X-Cache: stale, X-Cache-Origin-Status: unreachable',
    ]);
    const printed = result.stdout
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => /^x-cache/i.test(line));
    expect(printed).toEqual(promised.flatMap((answer) => answer.split(', ')));
    expect(await readdir(join(dir, 'outage'))).toEqual([RPM_NAME]);
    expect(await readFile(join(dir, 'outage', RPM_NAME))).toEqual(RPM);
    // The fresh root's requests came while the origin was unreachable: metadata from the snapshot, the RPM from S3.
    const requests = await stackRequests(dir);
    const afterOutage = requests.slice(requests.lastIndexOf('stale repo/repodata/repomd.xml'));
    expect(afterOutage).toEqual(expect.arrayContaining(['stale repo/repodata/repomd.xml', `hit repo/${RPM_NAME}`]));
  }, 180_000);
});
