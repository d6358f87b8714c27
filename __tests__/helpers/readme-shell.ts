/**
 * README examples run as written: their ```sh blocks taken from the file,
 * run by bash in a process group of their own, so that whatever they leave
 * running in the background (the stack, an origin) is stopped with them,
 * also when a test fails, times out or jest is interrupted.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';

/**
 * The ```sh blocks of the section under `heading` (a whole heading line,
 * e.g. `## Try it offline`), up to the next heading of the same or a higher
 * level; subsections' blocks included.
 */
export const shellBlocksOf = (heading: string, file = 'README.md'): string[] => {
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`${file} has no heading ${JSON.stringify(heading)}`);
  const level = /^#+/.exec(heading)?.[0].length ?? 1;
  const rest = text.slice(start + heading.length + 2);
  const next = new RegExp(`^#{1,${level}} `, 'm').exec(rest);
  const section = next === null ? rest : rest.slice(0, next.index);
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map(([, block = '']) => block);
};

/**
 * The variables an offline demo sets on its first line: the README's
 * (8080, 8081) and docs/time-travel.md's (8090, 8091).
 */
export interface DemoVariables {
  readonly port: number;
  readonly originPort: number;
  readonly dir: string;
}

// Any ports: each demo's test checks its own defaults, this only finds the line a reader edits.
const DEMO_VARIABLES_LINE = /^PORT=\d+ ORIGIN_PORT=\d+ DEMO=.*$/m;

/**
 * `block` with the demo's variables line set to `variables`, as a reader
 * who changes the ports on that line would; fails when the line is gone
 * (then the page no longer lets its reader choose them).
 */
export const withDemoVariables = (block: string, { port, originPort, dir }: DemoVariables): string => {
  if (!DEMO_VARIABLES_LINE.test(block)) throw new Error(`no demo variables line in:\n${block}`);
  return block.replace(DEMO_VARIABLES_LINE, `PORT=${port} ORIGIN_PORT=${originPort} DEMO=${dir}`);
};

/** A port nothing listens on at this moment. */
export const freePort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as AddressInfo;
  await new Promise((closed) => server.close(closed));
  return port;
};

/** An HTTP server holding a port on 127.0.0.1, as something else on 8080 would. */
export const holdPort = async (): Promise<{ readonly port: number; close(): Promise<void> }> => {
  const server: Server = createServer((_request, response) => response.end('not rpm-cache\n'));
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((closed) => {
        server.closeAllConnections();
        server.close(() => closed());
      }),
  };
};

/** Whether `port` can be bound on 127.0.0.1 now (so a suggestion of it is one a reader can take). */
export const bindable = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** Whether something accepts connections on 127.0.0.1:`port`. */
export const listensOn = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** Waits up to `ms` for `port` to stop accepting connections; whether it did. */
export const becomesFree = async (port: number, ms = 10_000): Promise<boolean> => {
  for (const deadline = Date.now() + ms; Date.now() < deadline; ) {
    if (!(await listensOn(port))) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return !(await listensOn(port));
};

export interface ShellResult {
  /** bash's exit status (null when a signal ended it). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  /** Ended by the time bound, not by itself. */
  readonly timedOut: boolean;
}

/** Whether any process of group `pgid` is left. */
const groupAlive = (pgid: number): boolean => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
};

const signalGroup = (pgid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(-pgid, signal);
  } catch {
    // The group has ended already.
  }
};

const running = new Set<ShellRun>();

/**
 * `bash -c script` in a process group of its own. A watchdog outside that
 * group stops the group when this test process ends without doing it (jest
 * interrupted, a crash): an interrupted run used to leave its stack
 * listening, and the next run failed on the taken port.
 */
export class ShellRun {
  readonly result: Promise<ShellResult>;
  readonly #child: ChildProcess;
  readonly #pgid: number;
  readonly #watchdog: ChildProcess;

  private constructor(script: string, env: Record<string, string>, timeoutMs: number) {
    const started = performance.now();
    this.#child = spawn('bash', ['-c', script], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const pgid = this.#child.pid;
    if (pgid === undefined) throw new Error('bash did not start');
    this.#pgid = pgid;
    this.#watchdog = spawn(
      'sh',
      [
        '-c',
        'while kill -0 "$0" 2>/dev/null; do sleep 1; done; kill -TERM -"$1"; sleep 3; kill -KILL -"$1"',
        String(process.pid),
        String(pgid),
      ],
      { detached: true, stdio: 'ignore' },
    );
    this.#watchdog.unref();
    running.add(this);

    let stdout = '';
    let stderr = '';
    this.#child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void this.stop();
    }, timeoutMs);
    // Background processes may hold bash's stdout after bash exits: 'exit', then what is left in the pipe.
    const stdoutEnded = new Promise<void>((resolve) => this.#child.stdout?.once('end', resolve));
    this.result = new Promise((resolve) => {
      this.#child.once('exit', (code) => {
        clearTimeout(timer);
        const ms = performance.now() - started;
        void Promise.race([stdoutEnded, new Promise((settle) => setTimeout(settle, 300))]).then(() =>
          resolve({ code, stdout, stderr, ms, timedOut }),
        );
      });
    });
  }

  /** Starts `script`; after `timeoutMs` its whole group is stopped. */
  static start(script: string, { env, timeoutMs }: { env: Record<string, string>; timeoutMs: number }): ShellRun {
    return new ShellRun(script, env, timeoutMs);
  }

  /** Stops every process of the group (SIGTERM, then SIGKILL after 10 s) and the watchdog. */
  async stop(): Promise<void> {
    signalGroup(this.#pgid, 'SIGTERM');
    for (const deadline = Date.now() + 10_000; groupAlive(this.#pgid) && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    signalGroup(this.#pgid, 'SIGKILL');
    if (this.#watchdog.pid !== undefined) signalGroup(this.#watchdog.pid, 'SIGKILL');
    running.delete(this);
  }
}

/** Stops every run not stopped yet: for `afterAll`. */
export const stopShellRuns = async (): Promise<void> => {
  await Promise.all([...running].map((run) => run.stop()));
};

/** The environment a reader's shell would give the examples: no variable of the test's own. */
export const readerEnvironment = (): Record<string, string> => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: process.env.HOME ?? '/tmp',
  LANG: 'C.UTF-8',
});

/** What the demos' tests bound a run by: the issue's "ends within a minute". */
export const DEMO_MINUTE_MS = 60_000;

/** The line `npm start` prints when PORT is taken, and the port it suggests instead. */
export const portTakenHint = (port: number): RegExp =>
  new RegExp(`^rpm-cache: port ${port} is taken: set PORT to a free port \\(PORT=(\\d+) npm start\\)`, 'm');

/**
 * Runs `script` (a demo's blocks, given its variables) for at most a minute
 * with the demo's `taken` port held by another HTTP server, as a reader's
 * 8080 may be; `assess` sees the run ended (the run is left running for it,
 * so what the demo itself stopped is told apart), then the run is stopped
 * and the port released, also when `assess` fails.
 */
export const withPortTaken = async (
  taken: 'port' | 'originPort',
  dir: string,
  script: (variables: DemoVariables) => string,
  assess: (ended: { readonly result: ShellResult; readonly variables: DemoVariables }) => Promise<void>,
): Promise<void> => {
  const squatter = await holdPort();
  let run: ShellRun | undefined;
  try {
    const other = await freePort();
    const variables =
      taken === 'port'
        ? { port: squatter.port, originPort: other, dir }
        : { port: other, originPort: squatter.port, dir };
    run = ShellRun.start(script(variables), { env: readerEnvironment(), timeoutMs: DEMO_MINUTE_MS });
    await assess({ result: await run.result, variables });
  } finally {
    await run?.stop();
    await squatter.close();
  }
};
