/**
 * `rpm-cache warm` against a stand-in for the cache that answers on cue
 * (#29 "fails fast and names the cause"): a copy the cache refused, every
 * package skipped or lost, `--json` on a fatal error, a long run with many
 * packages waiting at once, and Ctrl-C, in-process and as the bundled command
 * in its own process (a real SIGINT, Node's own warnings on stderr).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { build } from 'esbuild';
import { runCli } from '../../src/cli/main.js';
import { checkCache } from '../../src/cli/preflight.js';
import { warm as warmPackages } from '../../src/cli/warm.js';
import {
  CacheStandIn,
  lostAnswer,
  refusedAnswer,
  type StandInScript,
  storedAnswer,
  uploadingAnswer,
} from '../helpers/cache-stand-in.js';
import { nodeBinaries } from '../helpers/node-binaries.js';
import { refusedBaseUrl } from '../helpers/origin-server.js';

class Captured extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString('utf8');
    callback();
  }
}

const PACKAGES = 'pub/fedora/linux/updates/44/Everything/x86_64/Packages';
const pathOf = (name: string) => `${PACKAGES}/${name[0]}/${name}-1.0-1.fc44.x86_64.rpm`;
const REASON =
  'refused 2026-05-01T10:00:00Z until 2026-05-02T10:00:00Z: not an RPM (no lead magic; the origin served 512 bytes of HTML)';

describe('rpm-cache warm against a stand-in cache', () => {
  let work: string;
  let standIn: CacheStandIn | undefined;
  let lockfiles = 0;

  /** A lockfile of `names` under `host`, at `path` below it (the origin's tree, pub/fedora/linux/..., by default). */
  const lockfile = async (names: readonly string[], host = 'https://dl.fedoraproject.org', path = pathOf) => {
    const lines = ['lockfileVersion: 1', 'lockfileVendor: redhat', 'arches:', '- arch: x86_64', '  packages:'];
    for (const name of names) lines.push(`  - url: ${host}/${path(name)}`, `    name: ${name}`);
    lockfiles += 1;
    const file = join(work, `${lockfiles}.lock.yaml`);
    await writeFile(file, `${lines.join('\n')}\n`);
    return file;
  };

  const serve = async (script: StandInScript) => {
    standIn = await CacheStandIn.start(script);
    return standIn;
  };

  const warm = async (args: readonly string[], signal?: AbortSignal) => {
    const stdout = new Captured();
    const stderr = new Captured();
    const code = await runCli(['warm', ...args], {
      stdout,
      stderr,
      env: {},
      ...(signal === undefined ? {} : { signal }),
    });
    return { code, stdout: stdout.text, stderr: stderr.text };
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'rpm-cache-warm-stand-in-'));
  });

  afterEach(async () => {
    await standIn?.close();
    standIn = undefined;
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  describe('a copy the cache refused (X-Cache-Upload: refused)', () => {
    it('fails the package with the cache’s reason as soon as the cache says so, not at the deadline, exit 1', async () => {
      // The preflight question and the first ask find it uploading; from the next ask on, the upload was refused.
      const cache = await serve((ask, nth) =>
        ask.path.includes('/bad-') ? (nth <= 2 ? uploadingAnswer : refusedAnswer(REASON)) : storedAnswer,
      );
      const file = await lockfile(['bad-copy', 'good']);
      const started = Date.now();

      const result = await warm(['--cache', cache.url, '--deadline', '120', file]);

      expect(result.code).toBe(1);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(result.stdout).toContain(
        `failed       bad-copy  ${pathOf('bad-copy')}  (the cache refused the origin's copy (X-Cache-Upload: refused): ${REASON})`,
      );
      expect(result.stdout).toMatch(/^cached +good /m);
      expect(result.stdout).not.toContain('deadline passed');
      // Asked no more once refused.
      expect(cache.asksOf(`/${pathOf('bad-copy')}`)).toBe(3);
    });

    it('reports a refusal at the first ask, in --json too', async () => {
      const cache = await serve(() => refusedAnswer(REASON));
      const file = await lockfile(['refused-first']);

      const result = await warm(['--cache', cache.url, '--json', file]);

      expect(result.code).toBe(1);
      const report = JSON.parse(result.stdout) as { packages: { state: string; reason?: string }[] };
      expect(report.packages).toEqual([
        expect.objectContaining({
          state: 'failed',
          reason: `the cache refused the origin's copy (X-Cache-Upload: refused): ${REASON}`,
        }),
      ]);
    });

    it('keeps a refusal without a reason a refusal', async () => {
      const cache = await serve(() => ({
        status: 302,
        headers: {
          location: 'http://x/',
          'x-cache': 'miss',
          'x-cache-origin-status': '200',
          'x-cache-upload': 'refused',
        },
      }));

      const [result] = await warmPackages(
        [{ url: `https://dl.fedoraproject.org/${pathOf('quiet')}`, path: pathOf('quiet'), name: 'quiet', origin: 'x' }],
        { cacheUrl: cache.url, concurrency: 1, deadlineMs: 60_000, verify: false },
      );

      expect(result).toMatchObject({
        state: 'failed',
        reason: "the cache refused the origin's copy (X-Cache-Upload: refused): no reason given",
      });
    });
  });

  describe('nothing warmed', () => {
    it('exits 2 when every package is skipped, naming the origin options and the lockfile’s host', async () => {
      const cache = await serve(() => storedAnswer);
      const file = await lockfile(['one', 'two'], 'https://mirror.example');

      const result = await warm(['--cache', cache.url, '--origin-host', 'https://dl.fedoraproject.org', file]);

      expect(result.code).toBe(2);
      expect(result.stdout).toMatch(/ {2}skipped +2\n/);
      expect(result.stderr).toBe(
        "rpm-cache: nothing warmed: all 2 package(s) were skipped: the lockfiles' URLs are under https://mirror.example, " +
          "and --origin-host https://dl.fedoraproject.org names none of them; pass the deployment's ORIGINS (--origins) " +
          'or ORIGIN_HOST (--origin-host) that serve https://mirror.example\n',
      );
      expect(cache.asks).toEqual([]);
    });

    it('exits 2 when the cache caches none of them (bypass), and says so in --json', async () => {
      const cache = await serve(() => ({ status: 302, headers: { location: 'http://x/', 'x-cache': 'bypass' } }));
      const file = await lockfile(['bypassed']);

      const result = await warm(['--cache', cache.url, '--json', file]);

      expect(result.code).toBe(2);
      const report = JSON.parse(result.stdout) as { summary: Record<string, number>; hint?: string };
      expect(report.summary).toMatchObject({ skipped: 1, total: 1 });
      expect(report.hint).toMatch(/^nothing warmed: .*X-Cache: bypass.*under https:\/\/dl\.fedoraproject\.org$/);
      expect(result.stderr).toBe(`rpm-cache: ${report.hint}\n`);
    });

    it('hints that --cache may point at the wrong place when every package is lost, exit 1', async () => {
      const cache = await serve(() => lostAnswer);
      const file = await lockfile(['lost-a', 'lost-b']);

      const result = await warm([
        '--cache',
        `${cache.url}/wrong-stage`,
        '--origin-host',
        'https://dl.fedoraproject.org',
        file,
      ]);

      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `rpm-cache: every package is lost: the cache's origin has none of them (the first was asked at ${cache.url}/wrong-stage/${pathOf('lost-a')}). ` +
          `If they should be there, --cache may point at the wrong place: is ${cache.url}/wrong-stage the stack's ApiUrl, ` +
          'with its path prefix or API stage? And do --origins/--origin-host match the deployment?\n',
      );
    });

    it('names the other likely cause when every package is lost and no origin option was given: a mirror asked by its paths', async () => {
      // A mirror's tree (/fedora/linux/...) where the deployment's origin serves /pub/fedora/linux/...
      const cache = await serve(() => lostAnswer);
      const file = await lockfile(['mirrored'], 'https://mirror.example.org', (name) =>
        pathOf(name).replace(/^pub\//, ''),
      );

      const result = await warm(['--cache', cache.url, file]);

      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^rpm-cache: every package is lost: .*--cache may point at the wrong place/);
      expect(result.stderr).toContain(
        " Or the lockfile's URLs (under https://mirror.example.org) were asked by their own paths: a mirror whose " +
          "paths differ from the deployment's origin needs --origins/--origin-host (the deployment's ORIGINS/ORIGIN_HOST).\n",
      );
    });

    it('says how a --origin-host without a scheme was read when the lockfile uses that host over http, exit 2', async () => {
      const cache = await serve(() => storedAnswer);
      const file = await lockfile(['local'], 'http://127.0.0.1:8081');

      const result = await warm(['--cache', cache.url, '--origin-host', '127.0.0.1:8081', file]);

      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        'rpm-cache: nothing warmed: all 1 package(s) were skipped: --origin-host 127.0.0.1:8081 was read as ' +
          'https://127.0.0.1:8081; the lockfile uses http://127.0.0.1:8081: give the scheme (--origin-host http://127.0.0.1:8081)\n',
      );
      expect(cache.asks).toEqual([]);
    });

    it('keeps reading a --origin-host without a scheme as https, as the deployment reads ORIGIN_HOST', async () => {
      const cache = await serve(() => storedAnswer);
      const file = await lockfile(['public']);

      const result = await warm(['--cache', cache.url, '--origin-host', 'dl.fedoraproject.org', file]);

      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^cached +public /m);
      expect(cache.asksOf(`/${pathOf('public')}`)).toBe(2);
    });

    it('keeps the statuses of a mixed run, with no hint', async () => {
      const cache = await serve((ask) => (ask.path.includes('/l/') ? lostAnswer : storedAnswer));
      const file = await lockfile(['lost', 'kept']);

      const result = await warm(['--cache', cache.url, file]);

      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/^lost +lost /m);
      expect(result.stdout).toMatch(/^cached +kept /m);
      expect(result.stderr).toBe('');
    });
  });

  describe('while it waits', () => {
    it('tells what the cache last said of each package it still waits for', async () => {
      const cache = await serve((_ask, nth) =>
        nth === 1 ? { status: 503 } : nth === 2 ? uploadingAnswer : storedAnswer,
      );
      const url = `https://dl.fedoraproject.org/${pathOf('waited')}`;
      const news: string[] = [];

      const [result] = await warmPackages([{ url, path: pathOf('waited'), name: 'waited', origin: 'x' }], {
        cacheUrl: cache.url,
        concurrency: 1,
        deadlineMs: 10_000,
        verify: false,
        pollDelays: { firstMs: 10, factor: 1, maxMs: 10 },
        onWaiting: (pkg, why) => news.push(`${pkg.url}: ${why}`),
      });

      expect(result?.state).toBe('newly-cached');
      expect(news).toEqual([`${url}: the cache answered 503`, `${url}: the cache was still fetching it from origin`]);
    });
  });

  describe('a --cache no try could reach', () => {
    /** fetch, counting its calls. */
    const counting = () => {
      const calls: string[] = [];
      const fetchImpl: typeof fetch = (input, init) => {
        calls.push(String(input));
        return fetch(input, init);
      };
      return { calls, fetchImpl };
    };

    it('is asked once, not retried, when fetch refuses the address (a blocked port), exit 2 naming why', async () => {
      const { calls, fetchImpl } = counting();
      const started = Date.now();

      await expect(checkCache('http://127.0.0.1:9/pub/x.rpm', { fetch: fetchImpl })).rejects.toThrow(
        'cannot reach the cache at http://127.0.0.1:9: bad port',
      );

      expect(calls).toHaveLength(1);
      expect(Date.now() - started).toBeLessThan(400);
      const file = await lockfile(['bad-port']);
      const result = await warm(['--cache', 'http://127.0.0.1:9', file]);
      expect(result).toMatchObject({
        code: 2,
        stderr: 'rpm-cache: cannot reach the cache at http://127.0.0.1:9: bad port\n',
      });
    });

    it('is tried three times when the connection is refused (a cache starting up)', async () => {
      const { calls, fetchImpl } = counting();
      const dead = await refusedBaseUrl();

      await expect(checkCache(`${dead}/pub/x.rpm`, { fetch: fetchImpl })).rejects.toThrow(/connect ECONNREFUSED/);

      expect(calls).toHaveLength(3);
    });
  });

  describe('--json on a fatal error: one JSON document on stdout, the exit status of the same run without --json', () => {
    it.each([
      [
        'a cache that is down',
        async () => ['--cache', await refusedBaseUrl()],
        /^cannot reach the cache at http:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/,
      ],
      [
        'a cache URL without a scheme',
        async () => ['--cache', '127.0.0.1:18080'],
        /did you mean http:\/\/127\.0\.0\.1:18080\?$/,
      ],
      ['an unknown option', async () => ['--cache', 'http://127.0.0.1:9', '--bogus'], /^unknown option '--bogus'$/],
    ])('%s', async (_case, extraArgs, message) => {
      const file = await lockfile(['json-error']);
      const args = [...(await extraArgs()), file];

      const plain = await warm(args);
      const json = await warm(['--json', ...args]);

      expect(json.code).toBe(plain.code);
      expect(json.code).toBe(2);
      expect(plain.stdout).toBe('');
      const document = JSON.parse(json.stdout) as Record<string, unknown>;
      expect(Object.keys(document)).toEqual(['error']);
      expect(document.error).toMatch(message);
    });
  });

  describe('Ctrl-C, in-process', () => {
    it('names the interruption, not the aborted request, while the cache is fetching', async () => {
      const cache = await serve(() => uploadingAnswer);
      const file = await lockfile(['slow']);
      const interrupt = new AbortController();
      setTimeout(() => interrupt.abort(), 700);

      const result = await warm(['--cache', cache.url, file], interrupt.signal);

      expect(result.code).toBe(130);
      expect(result.stdout).toContain(
        '(interrupted before it finished (last: the cache was still fetching it from origin))',
      );
      expect(result.stderr).toMatch(/^rpm-cache: interrupted: /);
    });

    it('names the interruption while the first question waits for the cache, with --json', async () => {
      const cache = await serve(() => 'stall');
      const file = await lockfile(['stalled']);
      const interrupt = new AbortController();
      setTimeout(() => interrupt.abort(), 300);

      const result = await warm(['--cache', cache.url, '--json', file], interrupt.signal);

      expect(result.code).toBe(130);
      expect(JSON.parse(result.stdout)).toEqual({ error: 'interrupted before the cache answered' });
      expect(result.stderr).toBe('rpm-cache: interrupted before the cache answered\n');
    });
  });

  describe('as the bundled command in its own process', () => {
    let cli: string;

    beforeAll(async () => {
      cli = join(work, 'cli.mjs');
      await build({
        entryPoints: ['src/cli.ts'],
        outfile: cli,
        bundle: true,
        format: 'esm',
        platform: 'node',
        target: 'node20',
        banner: { js: "import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);" },
        logLevel: 'silent',
      });
    });

    const start = (args: readonly string[], node = process.execPath) => {
      const child = spawn(node, [cli, 'warm', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
      });
      const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
        child.once('close', (code) => resolve({ code, stdout, stderr })),
      );
      return { child, exited };
    };

    // Node 20 (the bundle's target, the system's node here) warns where Node 24 stays silent: both are run.
    it.each(nodeBinaries().map((node) => [node.version, node.path]))(
      'waits for many packages at once without a MaxListenersExceededWarning (node %s)',
      async (_version, node) => {
        // Each package is uploading at its first two asks: all 40 wait between asks at the same time.
        const cache = await serve((_ask, nth) => (nth <= 2 ? uploadingAnswer : storedAnswer));
        const names = Array.from({ length: 40 }, (_, index) => `many${index}`);
        const file = await lockfile(names);

        const { exited } = start(['--cache', cache.url, '--concurrency', '16', file], node);
        const result = await exited;

        expect(result.code).toBe(0);
        expect(result.stdout).toMatch(/ {2}newly-cached +40\n/);
        expect(result.stderr).not.toContain('MaxListenersExceededWarning');
        expect(result.stderr).toBe('');
      },
      30_000,
    );

    it.each(nodeBinaries().map((node) => [node.version, node.path]))(
      'stops on SIGINT, saying it was interrupted, exit 130 (node %s)',
      async (_version, node) => {
        const cache = await serve(() => uploadingAnswer);
        const file = await lockfile(['sigint']);
        const { child, exited } = start(['--cache', cache.url, file], node);
        // Interrupted once warm waits for the package (the preflight question and the first ask answered).
        while (cache.asks.length < 2) await new Promise((resolve) => setTimeout(resolve, 50));
        child.kill('SIGINT');

        const result = await exited;

        expect(result.code).toBe(130);
        expect(result.stdout).toContain('interrupted: summary so far');
        expect(result.stdout).toContain(
          '(interrupted before it finished (last: the cache was still fetching it from origin))',
        );
        expect(result.stderr).toMatch(/^rpm-cache: interrupted: /);
      },
      20_000,
    );
  });
});
