/**
 * The README's offline demo, run as written: its shell block, then the way it
 * says to stop it. Each `X-Cache` it prints must be the one its comment
 * promises, in order, and the last download the very bytes of the RPM. (It
 * uses the demo's own ports, 8080 and 8081, and /tmp/origin.)
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The first ```sh block after `heading` in the README. */
const shellBlockAfter = (heading: string): string => {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf(heading));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (block === undefined) throw new Error(`no sh block after ${heading}`);
  return block;
};

describe("the README's offline demo", () => {
  let data: string;

  beforeAll(async () => {
    data = await mkdtemp(join(tmpdir(), 'rpm-cache-demo-'));
  });

  afterAll(async () => {
    await rm(data, { recursive: true, force: true });
    await rm('/tmp/origin', { recursive: true, force: true });
  });

  it('prints what its comments say, and stops the way it says', async () => {
    const demo = shellBlockAfter('## Try it offline');
    const stop = /To stop the demo: `([^`]+)` in the same shell/.exec(readFileSync('README.md', 'utf8'))?.[1];
    expect(stop).toBeDefined();
    const promised = [...demo.matchAll(/# (X-Cache: \w+)/g)].map(([, header]) => header);
    const rpm = readFileSync('__tests__/fixtures/demo-c++-1.0^20260101git-1.noarch.rpm');

    await rm('/tmp/origin', { recursive: true, force: true });
    const { stdout } = await run('bash', ['-c', `${demo}\n${stop}\nwait\n`], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? data, RPM_CACHE_DATA_DIR: data },
      timeout: 60_000,
    });

    const printed = stdout
      .split('\n')
      .filter((line) => /^x-cache: /i.test(line))
      .map((line) => line.trim().replace(/^x-cache: /i, 'X-Cache: '));
    expect(promised).toEqual(['X-Cache: miss', 'X-Cache: stored', 'X-Cache: hit']);
    expect(printed).toEqual(promised);
    expect(stdout).toContain(createHash('sha256').update(rpm).digest('hex'));
  }, 90_000);
});
