/**
 * `rpm-cache warm` end to end: the command line (in-process, and once as a
 * bundle in its own process) against the local stack, in front of an origin
 * serving real RPMs built with rpmbuild, with lockfiles written from them.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { build } from 'esbuild';
import { type CliIo, runCli } from '../../src/cli/main.js';
import { warm as warmPackages } from '../../src/cli/warm.js';
import { refusedBaseUrl } from '../helpers/origin-server.js';
import { buildRpm, requireE2eTools, rpmFileName, type TestPackage } from '../helpers/rpm-fixtures.js';
import { stackS3Client, startTestStack, type TestStack } from '../helpers/test-stack.js';

const run = promisify(execFile);
const PACKAGES_DIR = 'pub/fedora/linux/updates/44/Everything/noarch/Packages';
const PUBLIC_ORIGIN = 'https://dl.fedoraproject.org';

/** A stream that keeps what is written, as a terminal (isTTY) or a pipe. */
class Captured extends Writable {
  text = '';
  constructor(readonly isTTY: boolean) {
    super();
  }
  readonly columns = 160;
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString('utf8');
    callback();
  }
}

interface Locked {
  readonly pkg: TestPackage;
  readonly path: string;
  readonly bytes: Buffer;
}

const lockfileText = (entries: { url: string; name: string; size?: number; sha256?: string }[]): string =>
  [
    '---',
    'lockfileVersion: 1',
    'lockfileVendor: redhat',
    'arches:',
    '  - arch: noarch',
    '    packages:',
    ...entries.flatMap((entry) => [
      `      - url: ${entry.url}`,
      '        repoid: updates',
      ...(entry.size === undefined ? [] : [`        size: ${entry.size}`]),
      ...(entry.sha256 === undefined ? [] : [`        checksum: sha256:${entry.sha256}`]),
      `        name: ${entry.name}`,
      '        evr: 1.0-1',
      `        sourcerpm: ${entry.name}-1.0-1.src.rpm`,
    ]),
    '',
  ].join('\n');

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('rpm-cache warm', () => {
  let test: TestStack;
  const locked = new Map<string, Locked>();

  const entryOf = (name: string, override: { sha256?: string } = {}) => {
    const found = locked.get(name);
    if (found === undefined) throw new Error(`no package ${name}`);
    return {
      url: `${PUBLIC_ORIGIN}/${found.path}`,
      name,
      size: found.bytes.length,
      sha256: sha256(found.bytes),
      ...override,
    };
  };

  const writeLockfile = async (file: string, entries: Parameters<typeof lockfileText>[0]) => {
    const path = join(test.work, file);
    await writeFile(path, lockfileText(entries));
    return path;
  };

  const warm = async (args: string[], { tty = false, signal }: { tty?: boolean; signal?: AbortSignal } = {}) => {
    const stdout = new Captured(tty);
    const stderr = new Captured(false);
    const io: CliIo = { stdout, stderr, env: {}, ...(signal === undefined ? {} : { signal }) };
    const code = await runCli(['warm', '--cache', test.stack.url, ...args], io);
    return { code, stdout: stdout.text, stderr: stderr.text };
  };

  /** Asks the cache for each package until it answers `stored` (the first ask, a miss, uploads it). */
  const ensureCached = async (...names: string[]) => {
    for (const name of names) {
      const deadline = Date.now() + 15_000;
      const url = `${test.stack.url}/${locked.get(name)?.path}`;
      while ((await fetch(url, { method: 'HEAD', redirect: 'manual' })).headers.get('x-cache') !== 'stored') {
        if (Date.now() > deadline) throw new Error(`${name} was not cached within 15 s`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };

  beforeAll(async () => {
    await requireE2eTools(['rpmbuild']);
    // One stalled package must not make the stack assume the whole origin offline for the other tests.
    test = await startTestStack({ ORIGIN_HEAD_TIMEOUT: '0.5', ORIGIN_OFFLINE_PERIOD: '0' });
    const built = join(test.work, 'rpms');
    await mkdir(built, { recursive: true });
    for (const pkg of [
      // Cached by the tests that need them cached (ensureCached).
      { name: 'warm-a', version: '1.0', release: '1' },
      { name: 'warm-b', version: '1.0', release: '1' },
      // Each asked for by one test only: never cached before it, gone from origin in it.
      { name: 'warm-new', version: '1.0', release: '1' },
      { name: 'warm-c++', version: '1.0^20260101git', release: '1' },
      { name: 'warm-gone', version: '2.0~rc1', release: '1' },
    ]) {
      const bytes = await readFile(await buildRpm(pkg, join(test.work, 'build'), built));
      const path = `${PACKAGES_DIR}/${pkg.name.slice(5, 6)}/${rpmFileName(pkg)}`;
      locked.set(pkg.name, { pkg, path, bytes });
      test.origin.files.set(path, bytes);
    }
  }, 120_000);

  afterAll(async () => {
    await test?.close();
  });

  describe('bad input: a message naming the file and the entry, exit 2, nothing sent to the cache', () => {
    it.each([
      [
        'a missing file',
        async () => join(test.work, 'missing.lock.yaml'),
        /missing\.lock\.yaml: cannot read it \(ENOENT\)/,
      ],
      ['not YAML', async () => writeLockfileRaw('broken.yaml', 'arches: [\n'), /broken\.yaml: not YAML/],
      [
        'an unknown lockfileVersion',
        async () => writeLockfileRaw('v9.yaml', 'lockfileVersion: 9\narches: []\n'),
        /v9\.yaml: lockfileVersion 9 is not supported/,
      ],
      [
        'an entry without url',
        async () =>
          writeLockfileRaw(
            'nourl.yaml',
            'lockfileVersion: 1\narches:\n  - arch: x\n    packages:\n      - name: bash\n',
          ),
        /nourl\.yaml: arches\[0\]\.packages\[0\] \(bash\): no url/,
      ],
      [
        'a URL that is not http(s)',
        async () =>
          writeLockfileRaw(
            'ftp.yaml',
            'lockfileVersion: 1\narches:\n  - arch: x\n    packages:\n      - url: ftp://m/a.rpm\n',
          ),
        /ftp\.yaml: arches\[0\]\.packages\[0\]: url "ftp:\/\/m\/a\.rpm" is not http\(s\)/,
      ],
      [
        'a bad checksum',
        async () =>
          writeLockfileRaw(
            'sum.yaml',
            'lockfileVersion: 1\narches:\n  - arch: x\n    packages:\n      - url: https://m/a.rpm\n        checksum: sha256:xyz\n',
          ),
        /sum\.yaml: arches\[0\]\.packages\[0\]: checksum "sha256:xyz" is invalid/,
      ],
    ])('%s', async (_case, makeFile, message) => {
      const good = await writeLockfile('good-first.yaml', [entryOf('warm-a')]);
      const bad = await makeFile();
      const requestsBefore = test.origin.requests.length;
      const linesBefore = test.logs.lines().length;

      const result = await warm([good, bad]);

      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stdout).toBe('');
      expect(test.origin.requests.length).toBe(requestsBefore);
      expect(test.logs.lines().length).toBe(linesBefore);
    });

    it.each([
      [['warm', 'x.yaml'], /no cache URL: pass --cache URL or set RPM_CACHE_URL/],
      [['warm', '--cache', 'ftp://cache', 'x.yaml'], /must be an http\(s\) base URL/],
      [
        ['warm', '--cache', 'http://c', '--concurrency', '0', 'x.yaml'],
        /--concurrency.*expected a whole number from 1 to 256/,
      ],
      [['warm', '--cache', 'http://c', '--deadline', 'soon', 'x.yaml'], /--deadline.*expected seconds above 0/],
      // Past what a timer holds (2^31-1 ms), it would fire at once.
      [['warm', '--cache', 'http://c', '--deadline', '2147484', 'x.yaml'], /--deadline.*at most 86400/],
      [['warm', '--cache', 'http://c', '--deadline', '0.0001', 'x.yaml'], /--deadline.*expected seconds above 0/],
      [['warm', '--cache', 'http://c'], /missing required argument 'lockfile/],
      [['warm', '--cache', 'http://c', '--bogus', 'x.yaml'], /unknown option '--bogus'/],
    ])('usage %j', async (argv, message) => {
      const stdout = new Captured(false);
      const stderr = new Captured(false);

      expect(await runCli(argv, { stdout, stderr, env: {} })).toBe(2);
      expect(stderr.text).toMatch(message);
    });

    const writeLockfileRaw = async (file: string, text: string) => {
      const path = join(test.work, file);
      await writeFile(path, text);
      return path;
    };
  });

  describe('a wrong or dead --cache: stops within seconds with the real reason, exit 2', () => {
    it('names the refused address', async () => {
      const dead = await refusedBaseUrl();
      const lockfile = await writeLockfile('dead.lock.yaml', [entryOf('warm-a')]);
      const stdout = new Captured(false);
      const stderr = new Captured(false);
      const started = Date.now();

      const code = await runCli(['warm', '--cache', dead, lockfile], { stdout, stderr, env: {} });

      expect(code).toBe(2);
      expect(stderr.text).toBe(
        `rpm-cache: cannot reach the cache at ${dead}: connect ECONNREFUSED ${new URL(dead).host}\n`,
      );
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it('says when what answers is not rpm-cache', async () => {
      const lockfile = await writeLockfile('wrong.lock.yaml', [entryOf('warm-a')]);
      const stdout = new Captured(false);
      const stderr = new Captured(false);

      // The origin itself, not the cache: it answers, without X-Cache.
      const code = await runCli(['warm', '--cache', test.origin.baseUrl, lockfile], { stdout, stderr, env: {} });

      expect(code).toBe(2);
      expect(stderr.text).toMatch(/answered HTTP \d+ without X-Cache: is --cache the rpm-cache URL/);
      expect(stdout.text).toBe('');
    });
  });

  it('caches every package of a lockfile (newly-cached), then finds them cached, verified', async () => {
    const lockfile = await writeLockfile('rpms.lock.yaml', [entryOf('warm-new'), entryOf('warm-c++')]);
    const other = await writeLockfile('other.lock.yaml', [
      entryOf('warm-new'),
      { url: `${PUBLIC_ORIGIN}/pub/fedora/linux/updates/44/Everything/noarch/repodata/extra.xml.zst`, name: 'extra' },
    ]);

    const first = await warm([lockfile, other]);

    expect(first.code).toBe(0);
    const lines = first.stdout.split('\n').filter((line) => /^(cached|newly-cached|lost|failed|skipped) /.test(line));
    expect(lines.sort()).toEqual([
      expect.stringMatching(/^newly-cached +warm-c\+\+ +pub\/.*\/warm-c\+\+-1\.0\^20260101git-1\.noarch\.rpm$/),
      expect.stringMatching(/^newly-cached +warm-new +pub\/.*\/warm-new-1\.0-1\.noarch\.rpm$/),
      expect.stringMatching(/^skipped +extra .*\(not a cacheable file for this cache \(X-Cache: bypass\)\)$/),
    ]);
    expect(first.stdout).toMatch(
      /summary\n {2}cached +0\n {2}newly-cached +2\n {2}rescued +0\n {2}lost +0\n {2}failed +0\n {2}skipped +1\n {2}total +3\n/,
    );
    // Until both are stored (not stack.drain(): it would also wait for the stalled uploads of other tests).
    await ensureCached('warm-new', 'warm-c++');

    const second = await warm(['--verify', lockfile]);

    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^cached +warm-new /m);
    expect(second.stdout).toMatch(/^cached +warm-c\+\+ /m);
    expect(second.stdout).toMatch(/ {2}cached +2\n/);
  }, 60_000);

  it('reports a package the origin dropped before it was cached as lost, exit 1', async () => {
    await ensureCached('warm-a');
    const gone = locked.get('warm-gone');
    test.origin.files.delete(gone?.path ?? '');
    const lockfile = await writeLockfile('gone.lock.yaml', [entryOf('warm-a'), entryOf('warm-gone')]);

    const result = await warm(['--json', lockfile]);

    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as {
      summary: Record<string, number>;
      packages: {
        url: string;
        path: string;
        name: string;
        state: string;
        reason?: string;
        size?: number;
        sha256?: string;
      }[];
    };
    expect(report.summary).toEqual({
      cached: 1,
      'newly-cached': 0,
      rescued: 0,
      lost: 1,
      failed: 0,
      skipped: 0,
      total: 2,
    });
    expect(report.packages).toEqual([
      { ...entryOf('warm-a'), path: locked.get('warm-a')?.path, state: 'cached' },
      {
        ...entryOf('warm-gone'),
        path: gone?.path,
        state: 'lost',
        reason: 'origin answered 404 and the cache has no copy',
      },
    ]);
  });

  it('fails a package whose download does not match the lockfile with --verify, showing both values', async () => {
    await ensureCached('warm-a');
    const wrong = 'f'.repeat(64);
    const lockfile = await writeLockfile('wrong.lock.yaml', [entryOf('warm-a', { sha256: wrong })]);

    const result = await warm(['--verify', lockfile]);

    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      `mismatch: sha256: lockfile ${wrong}, downloaded ${sha256(locked.get('warm-a')?.bytes ?? Buffer.alloc(0))}`,
    );
    expect(result.stdout).toMatch(/lost and failed:\n {2}failed {2}warm-a/);
  });

  it('checks the stored copy with --verify, not the origin’s, while the origin still serves the file', async () => {
    await ensureCached('warm-b');
    const path = locked.get('warm-b')?.path ?? '';
    const s3 = stackS3Client(test.stack);
    const original = await s3.send(new GetObjectCommand({ Bucket: test.stack.bucketName, Key: `cache/${path}` }));
    const bytes = Buffer.from((await original.Body?.transformToByteArray()) ?? []);
    // The stored copy goes bad; the origin still has the right file.
    await s3.send(
      new PutObjectCommand({ Bucket: test.stack.bucketName, Key: `cache/${path}`, Body: Buffer.from('not the rpm') }),
    );
    const lockfile = await writeLockfile('stored.lock.yaml', [entryOf('warm-b')]);

    try {
      const result = await warm(['--verify', lockfile]);

      expect(result.code).toBe(1);
      expect(result.stdout).toContain(`mismatch: size: lockfile ${bytes.length}, downloaded 11`);
    } finally {
      await s3.send(new PutObjectCommand({ Bucket: test.stack.bucketName, Key: `cache/${path}`, Body: bytes }));
      s3.destroy();
    }
  });

  it('draws a progress bar with counts per state and the rate on a terminal', async () => {
    await ensureCached('warm-a', 'warm-b');
    const lockfile = await writeLockfile('tty.lock.yaml', [entryOf('warm-a'), entryOf('warm-b')]);

    const result = await warm([lockfile], { tty: true });

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /warming .* 2\/2 \| cached 2 \| newly-cached 0 \| lost 0 \| failed 0 \| skipped 0 \| [\d.]+\/s/,
    );
    // Redrawn in place (cursor to column 0), not one line per package.
    expect(result.stdout).toContain('\u001b[');
    expect(result.stdout).not.toMatch(/^cached +warm-a /m);
  });

  describe('a package the origin cannot answer for', () => {
    const stalled = `${PACKAGES_DIR}/s/warm-stalled-1.0-1.noarch.rpm`;
    const entry = { url: `${PUBLIC_ORIGIN}/${stalled}`, name: 'warm-stalled' };

    beforeAll(() => {
      test.origin.behaviours.set(stalled, { kind: 'stall' });
    });

    it('fails at the deadline, saying what it was waiting for', async () => {
      const lockfile = await writeLockfile('stalled.lock.yaml', [entry]);

      const result = await warm(['--deadline', '1.5', lockfile]);

      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/failed +warm-stalled .*\(deadline passed: origin could not be asked \(timeout\)/);
    });

    it('stops on Ctrl-C, prints the summary so far and exits 130', async () => {
      await ensureCached('warm-a');
      const lockfile = await writeLockfile('interrupted.lock.yaml', [entryOf('warm-a'), entry]);
      const interrupt = new AbortController();
      setTimeout(() => interrupt.abort(), 1500);
      const started = Date.now();

      const result = await warm([lockfile], { signal: interrupt.signal });

      expect(result.code).toBe(130);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(result.stdout).toContain('interrupted: summary so far');
      // The reason keeps what it was waiting for.
      expect(result.stdout).toMatch(
        /failed +warm-stalled .*\(interrupted before it finished \(last: origin could not be asked \(timeout\)/,
      );
      expect(result.stdout).toMatch(/^cached +warm-a /m);
    });
  });

  it('stops soon when the cache goes away mid-run, with the network error, instead of retrying until the deadline', async () => {
    // A cache that answers the first ask ("uploading"), then is gone: every later connection is refused.
    let asks = 0;
    const dying = createServer((_request, response) => {
      asks += 1;
      response
        .writeHead(302, { location: 'https://origin/x.rpm', 'x-cache': 'miss', 'x-cache-origin-status': '200' })
        .end();
      dying.close();
      dying.closeAllConnections();
    });
    await new Promise<void>((listening) => dying.listen(0, '127.0.0.1', listening));
    const port = (dying.address() as AddressInfo).port;
    const finished: string[] = [];
    const started = Date.now();

    const results = await warmPackages(
      [
        {
          url: `${PUBLIC_ORIGIN}/${PACKAGES_DIR}/g/gone-1.0-1.noarch.rpm`,
          path: `${PACKAGES_DIR}/g/gone-1.0-1.noarch.rpm`,
          name: 'gone',
          origin: 'test.lock.yaml: arches[0].packages[0]',
        },
      ],
      {
        cacheUrl: `http://127.0.0.1:${port}`,
        concurrency: 2,
        deadlineMs: 60_000,
        verify: false,
        silenceLimitMs: 1000,
        pollDelays: { firstMs: 100, factor: 1, maxMs: 100 },
        onFinished: (result) => finished.push(result.state),
      },
    );

    expect(asks).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(finished).toEqual(['failed']);
    expect(results[0]?.reason).toBe(
      `the cache stopped answering: no HTTP answer for 1 s, last no answer from the cache (connect ECONNREFUSED 127.0.0.1:${port})`,
    );
  });

  describe('as the bundled command (dist/cli.mjs)', () => {
    let cli: string;

    beforeAll(async () => {
      // The same bundle npm run build writes, into this test's own directory.
      cli = join(test.work, 'cli.mjs');
      await build({
        entryPoints: ['src/cli.ts'],
        outfile: cli,
        bundle: true,
        format: 'esm',
        platform: 'node',
        target: 'node20',
        banner: {
          js: "import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);",
        },
        logLevel: 'silent',
      });
    });

    it('documents every option in warm --help', async () => {
      const { stdout } = await run(process.execPath, [cli, 'warm', '--help']);
      for (const option of [
        '--cache <url>',
        '--concurrency <n>',
        '--deadline <seconds>',
        '--verify',
        '--json',
        'RPM_CACHE_URL',
      ]) {
        expect(stdout).toContain(option);
      }
      expect(stdout).toMatch(/Exit status: 0 .*; 1 any lost or failed;\n2 bad usage/);
    });

    it('takes the cache from RPM_CACHE_URL and exits 0 when all is cached', async () => {
      await ensureCached('warm-a');
      const lockfile = await writeLockfile('env.lock.yaml', [entryOf('warm-a')]);
      const { stdout } = await run(process.execPath, [cli, 'warm', '--json', lockfile], {
        env: { PATH: process.env.PATH ?? '', RPM_CACHE_URL: test.stack.url },
      });
      const { summary } = JSON.parse(stdout) as { summary: Record<string, number> };
      expect(summary).toMatchObject({ cached: 1, 'newly-cached': 0 });
    });

    it('stops quietly when its reader goes away (| head)', async () => {
      const child = spawn(process.execPath, [cli, 'warm', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
      });
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));

      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    });

    it('exits 2 on bad usage', async () => {
      await expect(run(process.execPath, [cli, 'warm', 'x.yaml'], { env: { PATH: '' } })).rejects.toMatchObject({
        code: 2,
        stderr: expect.stringContaining('no cache URL'),
      });
    });
  });
});
