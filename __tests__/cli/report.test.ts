/**
 * What `rpm-cache warm` prints on a pipe, and what it says of lockfile
 * entries it does not warm.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as wait } from 'node:timers/promises';
import { readLockfiles } from '../../src/cli/lockfile.js';
import { lineProgress } from '../../src/cli/report.js';

class Captured extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString('utf8');
    callback();
  }
}

const pkg = (name: string) => ({
  url: `https://dl.fedoraproject.org/pub/${name}-1.0-1.noarch.rpm`,
  path: `pub/${name}-1.0-1.noarch.rpm`,
  name,
  origin: 'rpms.lock.yaml: arches[0].packages[0]',
});

describe('warm on a pipe', () => {
  it('prints a line per finished package and, while others are still being cached, how far it is', async () => {
    const out = new Captured();
    let clock = 0;
    const progress = lineProgress(out, 3, { intervalMs: 20, now: () => clock });

    progress.finished({ package: pkg('a'), state: 'cached' });
    clock = 45_000;
    await wait(70);
    progress.stop();
    const stopped = out.text;
    await wait(50);

    expect(out.text.split('\n')[0]).toBe('cached       a  pub/a-1.0-1.noarch.rpm');
    expect(out.text).toContain(
      'warming: 1 of 3 done after 45 s (cached 1, newly-cached 0, rescued 0, lost 0, failed 0, skipped 0); waiting for 2\n',
    );
    // Nothing more once the run is over.
    expect(out.text).toBe(stopped);
  });
});

describe('warm on a pipe, while packages are waited for', () => {
  it('says what the first package still waited for is waiting on, with its latest news', async () => {
    const out = new Captured();
    let clock = 0;
    const progress = lineProgress(out, 3, { intervalMs: 20, now: () => clock });

    progress.waiting(pkg('slow'), 'no answer from the cache (connect ECONNREFUSED 127.0.0.1:8080)');
    progress.waiting(pkg('later'), 'the cache answered 503');
    progress.waiting(pkg('slow'), 'the cache was still fetching it from origin');
    clock = 60_000;
    await wait(70);
    progress.finished({ package: pkg('slow'), state: 'newly-cached' });
    progress.finished({ package: pkg('done'), state: 'cached' });
    out.text = '';
    await wait(70);
    progress.stop();

    expect(out.text.split('\n')[0]).toBe(
      'warming: 2 of 3 done after 60 s (cached 1, newly-cached 1, rescued 0, lost 0, failed 0, skipped 0); ' +
        'waiting for 1 (later: the cache answered 503)',
    );
  });

  it('names the first of several, and says nothing of packages not asked yet', async () => {
    const out = new Captured();
    const progress = lineProgress(out, 3, { intervalMs: 20, now: () => 0 });

    await wait(50);
    const before = out.text.split('\n')[0];
    progress.waiting(pkg('slow'), 'the cache was still fetching it from origin');
    out.text = '';
    await wait(50);
    progress.stop();

    expect(before).toMatch(/; waiting for 3$/);
    expect(out.text.split('\n')[0]).toMatch(
      /; waiting for 3 \(the first, slow: the cache was still fetching it from origin\)$/,
    );
  });
});

describe('lockfile entries warm does not ask for', () => {
  it('says that module_metadata entries are not warmed, naming the file and the arch', async () => {
    const work = await mkdtemp(join(tmpdir(), 'rpm-cache-notes-'));
    try {
      const lockfile = join(work, 'rpms.lock.yaml');
      await writeFile(
        lockfile,
        [
          'lockfileVersion: 1',
          'lockfileVendor: redhat',
          'arches:',
          '  - arch: x86_64',
          '    packages: []',
          '    module_metadata:',
          '      - url: https://dl.fedoraproject.org/pub/x/repodata/abc-modules.yaml.gz',
          '        repoid: x',
          '        size: 1',
          `        checksum: sha256:${'a'.repeat(64)}`,
          '',
        ].join('\n'),
      );
      const notes: string[] = [];

      expect(await readLockfiles([lockfile], (note) => notes.push(note))).toEqual([]);
      expect(notes).toEqual([
        `${lockfile}: arches[0].module_metadata: 1 entry not warmed: module metadata is no package; the cache keeps it with its repository's snapshot (asked through the cache)`,
      ]);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
