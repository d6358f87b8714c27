/**
 * What `rpm-cache warm` prints: a progress bar on a terminal, one line per
 * finished package otherwise, a summary table at the end, or with `--json`
 * a single JSON document and nothing else.
 */
import type { Writable } from 'node:stream';
import cliProgress from 'cli-progress';
import type { LockedPackage } from './lockfile.js';
import { WARM_STATES, type WarmResult, type WarmState } from './warm.js';

export type OutputStream = Writable & { isTTY?: boolean; columns?: number };

export type Counts = Record<WarmState, number>;

export const countStates = (results: readonly WarmResult[]): Counts => {
  const counts = Object.fromEntries(WARM_STATES.map((state) => [state, 0])) as Counts;
  for (const { state } of results) counts[state] += 1;
  return counts;
};

/** Follows the run as packages finish. */
export interface ProgressReporter {
  finished(result: WarmResult): void;
  /** A package still waited for, and what the cache last said of it. */
  waiting(pkg: LockedPackage, why: string): void;
  stop(): void;
}

const line = (result: WarmResult): string =>
  `${result.state.padEnd(12)} ${result.package.name}  ${result.package.path}${result.reason === undefined ? '' : `  (${result.reason})`}\n`;

/** A progress bar updated in place, with counts per state and the rate. */
export const terminalProgress = (stream: OutputStream, total: number, now = Date.now): ProgressReporter => {
  const started = now();
  const results: WarmResult[] = [];
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format:
        'warming {bar} {value}/{total} | cached {cached} | newly-cached {newly} | lost {lost} | failed {failed} | skipped {skipped} | {rate}/s',
      hideCursor: true,
      clearOnComplete: false,
      // Redraw on every update: packages finish seconds apart.
      fps: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  const payload = () => {
    const counts = countStates(results);
    const seconds = Math.max((now() - started) / 1000, 0.001);
    return {
      cached: counts.cached,
      newly: counts['newly-cached'],
      lost: counts.lost,
      failed: counts.failed,
      skipped: counts.skipped,
      rate: (results.length / seconds).toFixed(1),
    };
  };
  bar.start(total, 0, payload());
  return {
    finished: (result) => {
      results.push(result);
      bar.update(results.length, payload());
    },
    // The bar is redrawn in place: no room for reasons there.
    waiting: () => undefined,
    stop: () => bar.stop(),
  };
};

/**
 * One plain line per finished package, for logs and pipes, and while packages
 * are still being cached, a line every `intervalMs` saying how far the run is
 * and what the first package still waited for is waiting on (a pipe gets no
 * bar, but is never silent for long, nor silent about why it waits).
 */
export const lineProgress = (
  stream: OutputStream,
  total: number,
  { intervalMs = 30_000, now = Date.now }: { intervalMs?: number; now?: () => number } = {},
): ProgressReporter => {
  const started = now();
  const results: WarmResult[] = [];
  /** What the cache last said of each package not done yet, by URL, in the order they began to wait. */
  const waiting = new Map<string, { readonly name: string; readonly why: string }>();
  const status = () => {
    const counts = countStates(results);
    const seconds = Math.round((now() - started) / 1000);
    const states = WARM_STATES.map((state) => `${state} ${counts[state]}`).join(', ');
    const left = total - results.length;
    const [first] = waiting.values();
    const why = first === undefined ? '' : ` (${left > 1 ? 'the first, ' : ''}${first.name}: ${first.why})`;
    stream.write(
      `warming: ${results.length} of ${total} done after ${seconds} s (${states}); waiting for ${left}${why}\n`,
    );
  };
  const timer = setInterval(status, intervalMs);
  // The timer never keeps the process alive on its own.
  timer.unref();
  return {
    finished: (result) => {
      results.push(result);
      waiting.delete(result.package.url);
      stream.write(line(result));
    },
    // A Map keeps a key where it first went in: the first to wait stays the one named, with its latest news.
    waiting: (pkg, why) => waiting.set(pkg.url, { name: pkg.name, why }),
    stop: () => clearInterval(timer),
  };
};

export const silentProgress = (): ProgressReporter => ({
  finished: () => undefined,
  waiting: () => undefined,
  stop: () => undefined,
});

/** The closing table: each state and its count, then the lost and failed packages with their reasons. */
export const summaryText = (results: readonly WarmResult[], interrupted: boolean): string => {
  const counts = countStates(results);
  const rows = WARM_STATES.map((state) => `  ${state.padEnd(13)}${String(counts[state]).padStart(6)}`);
  const problems = results.filter((result) => result.state === 'lost' || result.state === 'failed');
  const lines = [
    '',
    interrupted ? 'interrupted: summary so far' : 'summary',
    ...rows,
    `  ${'total'.padEnd(13)}${String(results.length).padStart(6)}`,
  ];
  if (problems.length > 0) {
    lines.push('', 'lost and failed:');
    for (const result of problems) {
      lines.push(
        `  ${result.state.padEnd(7)} ${result.package.name}  ${result.package.url}`,
        `          ${result.reason ?? ''}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
};

/**
 * The whole run as one JSON document; `hint` is the line printed on stderr when every package was skipped
 * or lost, `interrupted` says the run was stopped (Ctrl-C) and the summary is the run so far.
 */
export const jsonReport = (
  results: readonly WarmResult[],
  { hint, interrupted = false }: { readonly hint?: string; readonly interrupted?: boolean } = {},
): string =>
  `${JSON.stringify(
    {
      summary: { ...countStates(results), total: results.length },
      ...(interrupted ? { interrupted } : {}),
      ...(hint === undefined ? {} : { hint }),
      packages: results.map(({ package: pkg, state, reason }) => ({
        url: pkg.url,
        path: pkg.path,
        name: pkg.name,
        state,
        ...(reason === undefined ? {} : { reason }),
        ...(pkg.size === undefined ? {} : { size: pkg.size }),
        ...(pkg.sha256 === undefined ? {} : { sha256: pkg.sha256 }),
      })),
    },
    null,
    2,
  )}\n`;
