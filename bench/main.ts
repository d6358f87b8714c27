/**
 * `npm run bench`: measures, in one run, each figure against its goal and
 * prints one table ("holds" / "short"); writes it where git does not look
 * (with `--save`, after a full run: to bench/results.md and the table in
 * docs/performance.md). It is a measurement, not a test: it exits 0 unless it
 * could not measure.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { measureBurst } from './burst.js';
import { measureColdStart } from './cold-start.js';
import { costRows, handlerMemoryRows, uploaderMemoryRows } from './cost.js';
import { measureLatency } from './latency.js';
import { measureMirror } from './mirror.js';
import { measureSnapshot } from './snapshot.js';
import type { Row } from './stats.js';
import { measureTimeTravel } from './time-travel.js';
import { measureUploads } from './upload.js';

const dir = process.env.BENCH_DIR ?? '';
const started = Date.now();
const rows: Row[] = [];
const step = (name: string) => process.stderr.write(`bench: ${name}...\n`);
const SECTIONS = ['latency', 'cold-start', 'upload', 'snapshot', 'burst', 'time-travel', 'mirror'];
/** BENCH_ONLY=latency,cold-start,upload,snapshot,burst,time-travel,mirror runs some sections (the default: all). */
const only = new Set((process.env.BENCH_ONLY ?? SECTIONS.join(',')).split(','));

try {
  /** Runs `measure` when its section is asked for, announcing it. */
  const section = async <T>(name: string, title: string, measure: () => Promise<T>): Promise<T | undefined> => {
    if (!only.has(name)) return undefined;
    step(title);
    return measure();
  };
  const latency = await section('latency', 'handler latency', () =>
    measureLatency(resolve(dir, 'latency-worker.mjs'), dir),
  );
  rows.push(...(latency?.rows ?? []));
  rows.push(...((await section('cold-start', 'cold start', () => measureColdStart(resolve(dir, 'bare')))) ?? []));
  const uploads = await section('upload', 'uploader throughput and memory (builds the RPMs once)', () =>
    measureUploads(resolve(dir, 'upload-worker.mjs')),
  );
  rows.push(...(uploads?.rows ?? []));
  rows.push(
    ...((await section('snapshot', 'repository snapshot (writes the repository once)', () =>
      measureSnapshot(resolve(dir, 'upload-worker.mjs')),
    )) ?? []),
  );
  rows.push(...((await section('burst', 'burst', () => measureBurst(resolve(dir, 'upload-worker.mjs')))) ?? []));
  rows.push(
    ...((await section('time-travel', 'time travel (writes a history of 1,000 snapshots)', () =>
      measureTimeTravel(resolve(dir, 'time-travel-worker.mjs')),
    )) ?? []),
  );
  rows.push(
    ...((await section('mirror', 'mirroring on snapshot (200 RPMs through the local stack)', () =>
      measureMirror(resolve(dir, 'mirror-worker.mjs')),
    )) ?? []),
  );
  if (latency !== undefined) rows.push(...handlerMemoryRows(latency));
  if (uploads !== undefined) rows.push(...uploaderMemoryRows(uploads.uploader));
  if (latency !== undefined && uploads !== undefined) {
    rows.push(...costRows(latency, uploads.uploader));
  }
} catch (error) {
  process.stderr.write(`bench: could not measure: ${error instanceof Error ? error.message : String(error)}\n`);
  if (/rpmbuild/.test(String(error))) {
    process.stderr.write('bench: the uploader figures need rpmbuild: apt-get install -y rpm\n');
  }
  process.exit(2);
}

const verdict = (holds: boolean | undefined) => (holds === undefined ? '' : holds ? 'holds' : 'short');
const table = [
  '| section | figure | measured | goal | |',
  '|---|---|---|---|---|',
  ...rows.map((row) => `| ${row.section} | ${row.figure} | ${row.value} | ${row.goal} | ${verdict(row.holds)} |`),
].join('\n');
const seconds = Math.round((Date.now() - started) / 1000);
const short = rows.filter((row) => row.holds === false).length;
const summary = `${rows.filter((row) => row.holds !== undefined).length - short} goals hold, ${short} short; ${seconds} s`;
process.stdout.write(`${table}\n\n${summary}\n`);
const results = `# Benchmark results\n\nLatest \`npm run bench\` on this project's 2-core machine, ${new Date().toISOString().slice(0, 10)} (Node ${process.version}).\n\n${table}\n\n${summary}\n`;
const scratch = resolve(dir, 'results.md');
await writeFile(scratch, results);
process.stderr.write(`bench: results written to ${scratch}\n`);
if (process.env.BENCH_SAVE === '1') {
  // Only a full run is the record of this machine.
  if (!SECTIONS.every((name) => only.has(name))) {
    process.stderr.write('bench: --save needs a full run (no BENCH_ONLY): bench/results.md left as it was\n');
  } else {
    await writeFile('bench/results.md', results);
    const docs = await readFile('docs/performance.md', 'utf8');
    const marked = /(<!-- bench-results -->\n)[\s\S]*?(<!-- \/bench-results -->)/;
    // A function, not a replacement string: the table's prices ($1.90) would be read as `$1` patterns.
    const saved = docs.replace(marked, (_all, start: string, end: string) => `${start}${table}\n\n${summary}\n${end}`);
    await writeFile('docs/performance.md', saved);
    process.stderr.write('bench: saved to bench/results.md and docs/performance.md\n');
  }
}
process.stderr.write(
  'bench: the RPMs and the repository it built stay in node_modules/.cache/rpm-cache/ for the next run (rm -rf node_modules/.cache/rpm-cache removes them)\n',
);
