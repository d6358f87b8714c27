/**
 * Benchmark: cold start of the image's entry point. Imports dist/index.mjs in
 * a fresh Node process (as Lambda's init does) for each Lambda, with and
 * without Sentry configured, and reports the median import time.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const RUNS = 7;
/** Goal for the bundles without Sentry, on this 2-core machine. */
const MAX_MEDIAN_MS = 250;

const IMPORT = `const started = performance.now();
await import('./dist/index.mjs');
process.stdout.write(String(performance.now() - started));`;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

const cases = [
  { name: 'handler', env: { LAMBDA_HANDLER: 'handler' }, sentry: false },
  { name: 'uploader', env: { LAMBDA_HANDLER: 'uploader' }, sentry: false },
  {
    name: 'handler + SENTRY_DSN',
    env: { LAMBDA_HANDLER: 'handler', SENTRY_DSN: 'http://key@127.0.0.1:9/1' },
    sentry: true,
  },
];

export const coldStart = async (): Promise<boolean> => {
  console.log(`cold start: import of dist/index.mjs in a fresh process, median of ${RUNS}`);
  let ok = true;
  for (const { name, env, sentry } of cases) {
    const times: number[] = [];
    for (let index = 0; index < RUNS; index += 1) {
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', IMPORT], {
        env: {
          PATH: process.env.PATH ?? '',
          AWS_REGION: 'us-east-1',
          S3_BUCKET_NAME: 'bench',
          UPLOADER_LAMBDA_ARN: 'uploader',
          ...env,
        },
      });
      times.push(Number(stdout));
    }
    const ms = median(times);
    if (!sentry && ms > MAX_MEDIAN_MS) ok = false;
    console.log(
      `${name.padEnd(22)} ${ms.toFixed(0).padStart(5)} ms${sentry ? '' : `  (goal: at most ${MAX_MEDIAN_MS} ms)`}`,
    );
  }
  return ok;
};
