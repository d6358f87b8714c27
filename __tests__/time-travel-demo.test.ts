/**
 * docs/time-travel.md's offline walkthrough, run as written (its shell
 * block, ports 8090 and 8091, a data directory of its own): the baseurl at
 * the first snapshot's time still lists the package the repository dropped,
 * today's does not, and the listing shows both snapshots.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireE2eTools } from './helpers/rpm-fixtures.js';

const run = promisify(execFile);

describe("docs/time-travel.md's offline walkthrough", () => {
  let data: string;

  beforeAll(async () => {
    await requireE2eTools(['createrepo_c', 'dnf']);
    data = await mkdtemp(join(tmpdir(), 'rpm-cache-time-travel-demo-'));
  });

  afterAll(async () => {
    await rm(data, { recursive: true, force: true });
  });

  it('lists the dropped package at the first snapshot’s time and not today', async () => {
    const page = readFileSync('docs/time-travel.md', 'utf8');
    const block = /```sh\n([\s\S]*?)```/.exec(page.slice(page.indexOf('## Try it offline')))?.[1];
    expect(block).toBeDefined();
    // Marks between the two dnf answers, so each is read on its own.
    const marked = (block ?? '')
      .replace(/^(dnf --repofrompath=then.*)$/m, 'echo "== then"; $1')
      .replace(/^(dnf --repofrompath=now.*)$/m, 'echo "== now"; $1 || true');

    const { stdout } = await run('bash', ['-c', `set -e\n${marked}\nwait\n`], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? data, RPM_CACHE_DATA_DIR: data, LANG: 'C.UTF-8' },
      timeout: 120_000,
    });

    const [listing = '', then = '', now = ''] = stdout.split(/^== (?:then|now)$/m);
    expect(JSON.parse(listing).snapshots).toHaveLength(2);
    expect(then).toMatch(/^demo-c\+\+\.noarch\s+1\.0\^20260101git-1/m);
    expect(now).not.toContain('demo-c++');
  }, 150_000);
});
