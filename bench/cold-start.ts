/**
 * Section 2: cold start, as the import of each bundle in a fresh process
 * (what Lambda's init does), next to a bundle of the bare SDK each Lambda
 * needs, built with the same esbuild settings. Cases run interleaved, in a
 * random order each round, so a noisy neighbour hits all alike.
 */
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { LAMBDA_BOOTSTRAP, lambdaStartEnvironment } from '../__tests__/helpers/lambda-start.js';
import { FUNCTION_SIZES } from '../infra/lib/function-sizes.js';
import { median, type Row, ratio, shuffled } from './stats.js';

const run = promisify(execFile);
const ROUNDS = Number(process.env.BENCH_COLD_ROUNDS ?? 15);
const GOAL = 1.25;

interface Case {
  readonly name: string;
  readonly file: string;
  readonly env: Record<string, string>;
  /** Whose memory size the bootstrap sizes the heap for. */
  readonly lambda: keyof typeof FUNCTION_SIZES;
}

const importTime = async ({ file, env, lambda }: Case): Promise<number> => {
  const { stdout } = await run(
    LAMBDA_BOOTSTRAP,
    [
      '--input-type=module',
      '-e',
      `const s = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write('\\n' + String(performance.now() - s));`,
    ],
    {
      env: {
        PATH: process.env.PATH ?? '',
        // As Lambda starts the image (its ENV, the bootstrap's flags), for the bare SDK as for the Lambdas.
        ...lambdaStartEnvironment(FUNCTION_SIZES[lambda].memoryMb),
        AWS_REGION: 'us-east-1',
        S3_BUCKET_NAME: 'bench',
        UPLOADER_LAMBDA_ARN: 'rpm-cache-uploader',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...env,
      },
    },
  );
  // The uploader logs its init line (heap limit) to stdout first: the time is the last line.
  const time = Number(stdout.slice(stdout.lastIndexOf('\n') + 1));
  if (!Number.isFinite(time)) throw new Error(`import of ${file} printed no time: ${stdout.slice(-300)}`);
  return time;
};

type Metafile = {
  outputs: Record<
    string,
    { bytes: number; imports: { path: string; kind: string }[]; inputs: Record<string, { bytesInOutput: number }> }
  >;
};

/** What a bundle loads at init (its static imports), in bytes, and its heaviest packages. */
const staticLoad = (metafile: Metafile, entry: string) => {
  const seen = new Set<string>();
  const visit = (file: string) => {
    seen.add(file);
    for (const imported of metafile.outputs[file]?.imports ?? []) {
      if (imported.kind === 'import-statement' && !seen.has(imported.path)) visit(imported.path);
    }
  };
  visit(entry);
  const byPackage = new Map<string, number>();
  let bytes = 0;
  for (const file of seen) {
    bytes += metafile.outputs[file]?.bytes ?? 0;
    for (const [input, { bytesInOutput }] of Object.entries(metafile.outputs[file]?.inputs ?? {})) {
      const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? 'rpm-cache';
      byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
    }
  }
  const heaviest = [...byPackage.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([name, size]) => `${name} ${(size / 1024).toFixed(0)} KiB`);
  return { bytes, heaviest };
};

export const measureColdStart = async (bareDir: string): Promise<Row[]> => {
  const SENTRY = { SENTRY_DSN: 'http://0123456789abcdef@127.0.0.1:9/1' };
  const TRACING = {
    AWS_LAMBDA_FUNCTION_NAME: 'rpm-cache',
    _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1',
  };
  const cases: Case[] = [
    { name: 'bare handler SDK', file: resolve(bareDir, 'bare-handler.mjs'), env: {}, lambda: 'handler' },
    { name: 'bare uploader SDK', file: resolve(bareDir, 'bare-uploader.mjs'), env: {}, lambda: 'uploader' },
    { name: 'handler', file: resolve('dist/handler.mjs'), env: {}, lambda: 'handler' },
    { name: 'handler + SENTRY_DSN', file: resolve('dist/handler.mjs'), env: SENTRY, lambda: 'handler' },
    { name: 'handler, tracing on', file: resolve('dist/handler.mjs'), env: TRACING, lambda: 'handler' },
    { name: 'uploader', file: resolve('dist/uploader.mjs'), env: {}, lambda: 'uploader' },
    { name: 'uploader + SENTRY_DSN', file: resolve('dist/uploader.mjs'), env: SENTRY, lambda: 'uploader' },
    { name: 'uploader, tracing on', file: resolve('dist/uploader.mjs'), env: TRACING, lambda: 'uploader' },
    {
      name: 'index (LAMBDA_HANDLER=handler)',
      file: resolve('dist/index.mjs'),
      env: { LAMBDA_HANDLER: 'handler' },
      lambda: 'handler',
    },
    {
      name: 'index (LAMBDA_HANDLER=uploader)',
      file: resolve('dist/index.mjs'),
      env: { LAMBDA_HANDLER: 'uploader' },
      lambda: 'uploader',
    },
  ];
  const times = new Map(cases.map((item) => [item.name, [] as number[]]));
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const item of shuffled(cases)) times.get(item.name)?.push(await importTime(item));
  }
  const ms = (name: string) => median(times.get(name) ?? []);
  const rows: Row[] = [];
  for (const [lambda, bare] of [
    ['handler', 'bare handler SDK'],
    ['uploader', 'bare uploader SDK'],
  ] as const) {
    for (const name of [lambda, `${lambda} + SENTRY_DSN`, `index (LAMBDA_HANDLER=${lambda})`]) {
      rows.push({
        section: 'cold start',
        figure: `import of ${name} vs ${bare} (median of ${ROUNDS})`,
        value: `${ratio(ms(name), ms(bare))} (${ms(name).toFixed(0)} vs ${ms(bare).toFixed(0)} ms)`,
        goal: `≤ ${GOAL}×`,
        holds: ms(name) / ms(bare) <= GOAL,
      });
    }
    rows.push({
      section: 'cold start',
      figure: `${lambda}, tracing on (X-Ray SDK loaded)`,
      value: `${ratio(ms(`${lambda}, tracing on`), ms(bare))} (${ms(`${lambda}, tracing on`).toFixed(0)} ms)`,
      goal: 'shown, no goal',
      holds: undefined,
    });
  }
  const metafile = JSON.parse(readFileSync('.build/metafile.json', 'utf8')) as Metafile;
  for (const entry of ['dist/handler.mjs', 'dist/uploader.mjs']) {
    const { bytes, heaviest } = staticLoad(metafile, entry);
    rows.push({
      section: 'cold start',
      figure: `${entry}: loaded at init (entry ${(statSync(entry).size / 1024).toFixed(0)} KiB + static chunks)`,
      value: `${(bytes / 1024).toFixed(0)} KiB: ${heaviest.join(', ')}`,
      goal: 'shown, no goal',
      holds: undefined,
    });
  }
  return rows;
};
