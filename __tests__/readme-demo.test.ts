/**
 * The README's offline demo, run as written: its start block, then the block
 * that watches `miss` → `stored` → `hit`, then the way it says to stop it.
 * Only its first line is changed, as a reader would change it: ports free
 * now and a directory of the test's own, so something else on 8080 (or a
 * run beside this one) does not matter. A demo that cannot start must end
 * within a minute and say why, having stopped what it started.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

const MINUTE = DEMO_MINUTE_MS;
const [start = '', watch = ''] = shellBlocksOf('## Try it offline');
const stop = /To stop the demo: `([^`]+)` in the same shell/.exec(readFileSync('README.md', 'utf8'))?.[1] ?? '';

/** `X-Cache` and `X-Cache-Origin-Status` as curl printed them, one string per answer. */
const answersPrinted = (stdout: string): string[] => {
  const answers: string[] = [];
  for (const line of stdout.split('\n')) {
    const [, name = '', value = ''] = /^(x-cache(?:-origin-status)?): (\S+)/i.exec(line.trim()) ?? [];
    if (name.toLowerCase() === 'x-cache') answers.push(`X-Cache: ${value}`);
    else if (name !== '') answers.push(`${answers.pop() ?? ''}, X-Cache-Origin-Status: ${value}`);
  }
  return answers;
};

describe("the README's offline demo", () => {
  const dirs: string[] = [];
  const demoDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rpm-cache-demo-'));
    dirs.push(dir);
    return dir;
  };

  afterAll(async () => {
    await stopShellRuns();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('has a start block, a watch block and a way to stop', () => {
    expect(start).toMatch(/^PORT=8080 ORIGIN_PORT=8081 DEMO=/);
    expect(watch).toContain('curl');
    expect(stop).toContain('$STACK_PID');
    expect(`${start}${watch}${stop}`).not.toMatch(/pkill|killall/);
  });

  it('prints what its comments say, and stops the way it says, leaving nothing listening', async () => {
    // Prepare
    const variables = { port: await freePort(), originPort: await freePort(), dir: await demoDir() };
    const promised = [...watch.matchAll(/# (X-Cache: \w+, X-Cache-Origin-Status: [\w-]+)/g)].map(
      ([, answer]) => answer,
    );
    const rpm = readFileSync('__tests__/fixtures/demo-c++-1.0^20260101git-1.noarch.rpm');

    // Act
    const run = ShellRun.start(`${withDemoVariables(start, variables)}\n${watch}\n${stop}\nwait\n`, {
      env: readerEnvironment(),
      timeoutMs: MINUTE,
    });
    const result = await run.result;

    // Assess
    expect(result).toMatchObject({ code: 0, timedOut: false });
    expect(promised).toEqual([
      'X-Cache: miss, X-Cache-Origin-Status: 200',
      'X-Cache: stored, X-Cache-Origin-Status: 200',
      'X-Cache: hit, X-Cache-Origin-Status: 404',
      'X-Cache: hit, X-Cache-Origin-Status: lost',
    ]);
    expect(answersPrinted(result.stdout)).toEqual(promised);
    expect(result.stdout).toContain(createHash('sha256').update(rpm).digest('hex'));
    expect(await listensOn(variables.port)).toBe(false);
    expect(await listensOn(variables.originPort)).toBe(false);
    await run.stop();
  }, 90_000);

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
      (variables) => `${withDemoVariables(start, variables)}\n${watch}`,
      async ({ result, variables }) => {
        expect(result.timedOut).toBe(false);
        expect(result.ms).toBeLessThan(MINUTE);
        expect(result.stdout).toMatch(portTakenHint(variables.port));
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
        expect(result.stderr).toContain('Address already in use');
        expect(result.stdout).toContain('demo stopped');
        expect(await becomesFree(variables.port)).toBe(true);
      },
    );
  }, 90_000);
});
