/**
 * `npm start` as a person or a supervisor runs it: a signal to the pid npm
 * gives stops the stack (no orphaned node keeping the port), and a start-up
 * problem is one line naming it and the fix, not a stack trace.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OriginServer } from '../helpers/origin-server.js';

interface Started {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

describe('npm start', () => {
  let work: string;
  let origin: OriginServer;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'rpm-cache-npm-start-'));
    origin = await OriginServer.start();
  });

  afterAll(async () => {
    await origin.close();
    await rm(work, { recursive: true, force: true });
  });

  /** `command args` with the stack's environment, its output collected (a terminal's carriage returns dropped). */
  const spawnCollected = (
    command: string,
    args: string[],
    env: Record<string, string>,
    stdin: 'ignore' | 'pipe' = 'ignore',
  ): Started => {
    const child = spawn(command, args, {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? work,
        RPM_CACHE_DATA_DIR: join(work, 'data'),
        ORIGIN_HOST: origin.baseUrl,
        ...env,
      },
      stdio: [stdin, 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString('utf8');
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, output: () => output.replaceAll('\r', ''), exited };
  };

  const npmStart = (env: Record<string, string>): Started => spawnCollected('npm', ['start'], env);

  /** `command` run by a shell under `script`, with a terminal (its stdin is the keyboard). */
  const spawnTerminal = (command: string, env: Record<string, string>): Started =>
    spawnCollected('script', ['-qfec', command, '/dev/null'], { TERM: 'xterm', ...env }, 'pipe');

  const waitFor = async (condition: () => boolean) => {
    for (let waited = 0; waited < 10_000 && !condition(); waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  /** A port nothing listens on now (PORT=0 on a terminal would not say which one it got any differently). */
  const freePort = async (): Promise<number> => {
    const server = createServer();
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    const { port } = server.address() as AddressInfo;
    await new Promise((closed) => server.close(closed));
    return port;
  };

  const listeningUrl = async (started: Started): Promise<string> => {
    for (let waited = 0; waited < 30_000; waited += 100) {
      const match = /rpm-cache listening on (http:\/\/[^,]+),/.exec(started.output());
      if (match?.[1] !== undefined) return match[1];
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`npm start did not come up:\n${started.output()}`);
  };

  it('on a terminal, writes readable lines for warnings too (a 400), and leaves no npm spinner behind on Ctrl-C', async () => {
    // `script` gives npm and the stack a terminal, as a person running npm start has.
    const port = await freePort();
    const started = spawnTerminal(`npm start`, { PORT: String(port) });
    const url = await listeningUrl(started);
    expect((await fetch(`${url}/`, { redirect: 'manual' })).status).toBe(400);
    await waitFor(() => started.output().includes('bad-request'));

    // Ctrl-C at the terminal: SIGINT to npm and the stack alike.
    started.child.stdin?.write('\x03');
    await started.exited;

    const output = started.output();
    const badRequest = output.split('\n').find((line) => line.includes('bad-request')) ?? '';
    expect(badRequest).toMatch(/^\d\d:\d\d:\d\d WARN bad-request /);
    expect(badRequest).not.toContain('{');
    // Nothing after the stack's last line: npm's spinner (a braille or |/-\\ character, then an erase sequence) would be.
    const last = 'finishing in-flight uploads (up to 10 s) and stopping';
    expect(output.slice(output.lastIndexOf(last) + last.length).trim()).toBe('');
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'stops on %s sent to the npm pid, freeing its port',
    async (signal) => {
      const started = npmStart({ PORT: '0' });
      const url = await listeningUrl(started);
      expect((await fetch(`${url}/pub/COPYING`, { redirect: 'manual' })).status).toBe(302);

      started.child.kill(signal);
      const code = await Promise.race([
        started.exited,
        new Promise((resolve) => setTimeout(() => resolve('hung'), 15_000)),
      ]);

      expect(code).toBe(0);
      expect(started.output()).toContain(`rpm-cache: ${signal}, finishing in-flight uploads (up to 10 s) and stopping`);
      await expect(fetch(url)).rejects.toThrow();
    },
    40_000,
  );

  it('writes JSON lines when its output is not a terminal', async () => {
    const started = npmStart({ PORT: '0' });
    const url = await listeningUrl(started);
    await fetch(`${url}/pub/COPYING`, { redirect: 'manual' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    started.child.kill('SIGTERM');
    await started.exited;

    const line = started
      .output()
      .split('\n')
      .find((candidate) => candidate.startsWith('{') && candidate.includes('"message":"request"'));
    expect(JSON.parse(line ?? 'null')).toMatchObject({ outcome: 'bypass', path: 'pub/COPYING' });
  }, 40_000);

  it('names a bad variable and its fix in one line, with no stack trace, and exits non-zero', async () => {
    const started = npmStart({ PORT: '0', ORIGIN_HEAD_TIMEOUT: 'soon' });

    expect(await started.exited).not.toBe(0);
    expect(started.output()).toMatch(
      /^rpm-cache: ORIGIN_HEAD_TIMEOUT="soon" is invalid: expected a positive number of seconds\. Fix the variable \(see docs\/configuration\.md\) and start again\.$/m,
    );
    expect(started.output()).not.toMatch(/^\s+at /m);
  }, 40_000);

  it("says the port is taken and suggests one that is free and not the origin's", async () => {
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const { port } = squatter.address() as AddressInfo;
    // The origin is configured on the next port but does not listen yet, as in the README demo.
    const originPort = port + 1;
    try {
      const started = npmStart({ PORT: String(port), ORIGIN_HOST: `http://127.0.0.1:${originPort}` });

      expect(await started.exited).not.toBe(0);
      const hint = new RegExp(
        `^rpm-cache: port ${port} is taken: set PORT to a free port \\(PORT=(\\d+) npm start\\) or stop what listens there\\.$`,
        'm',
      ).exec(started.output());
      expect(hint).not.toBeNull();
      const suggested = Number(hint?.[1]);
      expect([port, originPort]).not.toContain(suggested);
      const proof = createServer();
      await new Promise<void>((resolve, reject) => {
        proof.once('error', reject);
        proof.listen(suggested, '127.0.0.1', resolve);
      });
      await new Promise((closed) => proof.close(closed));
      expect(started.output()).not.toMatch(/^\s+at /m);
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  }, 40_000);

  it('names every ORIGINS entry in its start lines', async () => {
    const started = npmStart({
      PORT: '0',
      ORIGINS: `local=${origin.baseUrl}/pub,http://127.0.0.1:9/mirror`,
    });
    const url = await listeningUrl(started);
    started.child.kill('SIGTERM');
    await started.exited;

    expect(started.output()).toContain(`origin ${origin.baseUrl} (paths no ORIGINS name starts)`);
    expect(started.output()).toContain(
      `rpm-cache: origin local: ${url}/local/... from ${origin.baseUrl}/pub/..., mirrors http://127.0.0.1:9/mirror\n`,
    );
  }, 40_000);
});
