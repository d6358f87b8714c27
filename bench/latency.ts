/**
 * Section 1: handler latency per decision path, as a ratio to one bare
 * origin HEAD round trip measured in the same run.
 */
import { fork } from 'node:child_process';
import { resolve } from 'node:path';
import { LATENCY_MS, startInvoke, startOrigin, startS3, urlOf } from './servers.js';
import { percentile, type Row, ratio } from './stats.js';
import { imageEnvironment } from './transfer-env.js';

const ORIGIN_HEAD_TIMEOUT_S = 0.1;
const GOAL = 1.1;

export const measureLatency = async (workerPath: string): Promise<{ rows: Row[]; p50Ms: (name: string) => number }> => {
  const [origin, s3, invoke] = await Promise.all([startOrigin(), startS3(), startInvoke()]);
  try {
    const times = await new Promise<Record<string, number[]>>((done, fail) => {
      const worker = fork(workerPath, {
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        env: {
          PATH: process.env.PATH ?? '',
          ...imageEnvironment(),
          BENCH_HANDLER_BUNDLE: resolve('dist/handler.mjs'),
          AWS_ENDPOINT_URL_S3: urlOf(s3),
          AWS_ENDPOINT_URL_LAMBDA: urlOf(invoke),
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'AKIABENCH',
          AWS_SECRET_ACCESS_KEY: 'bench',
          ORIGIN_HOST: urlOf(origin),
          ORIGIN_HEAD_TIMEOUT: String(ORIGIN_HEAD_TIMEOUT_S),
          S3_BUCKET_NAME: 'bench',
          UPLOADER_LAMBDA_ARN: 'rpm-cache-uploader',
        },
      });
      worker.once('message', (message) => done(message as Record<string, number[]>));
      worker.once('exit', (code) => {
        if (code !== 0) fail(new Error(`latency worker exited ${code}`));
      });
    });
    const p50 = (name: string) => percentile(times[name] ?? [], 50);
    const p95 = (name: string) => percentile(times[name] ?? [], 95);
    const bare = p50('bare origin HEAD');
    const rows: Row[] = [
      {
        section: 'handler latency',
        figure: `bare origin HEAD round trip (origin ${LATENCY_MS.origin} ms, S3 ${LATENCY_MS.s3} ms, Invoke ${LATENCY_MS.invoke} ms injected)`,
        value: `p50 ${bare.toFixed(1)} ms, p95 ${p95('bare origin HEAD').toFixed(1)} ms`,
        goal: 'reference',
        holds: undefined,
      },
    ];
    for (const name of [
      'origin 200, cached',
      'origin 200, not cached (upload triggered)',
      'origin 404, cached (presigned)',
    ]) {
      rows.push({
        section: 'handler latency',
        figure: `${name}: p50 / p95 vs bare HEAD`,
        value: `${ratio(p50(name), bare)} / ${ratio(p95(name), bare)} (${p50(name).toFixed(1)} ms)`,
        goal: `p50 ≤ ${GOAL}×`,
        holds: p50(name) / bare <= GOAL,
      });
    }
    const timeoutBound = ORIGIN_HEAD_TIMEOUT_S * 1000 + LATENCY_MS.s3 + 5;
    rows.push({
      section: 'handler latency',
      figure: `origin timeout (${ORIGIN_HEAD_TIMEOUT_S * 1000} ms), cached: p50 / p95`,
      value: `${p50('origin timeout, cached').toFixed(1)} / ${p95('origin timeout, cached').toFixed(1)} ms`,
      goal: `p50 ≤ timeout + one S3 round trip (${timeoutBound} ms)`,
      holds: p50('origin timeout, cached') <= timeoutBound,
    });
    rows.push({
      section: 'handler latency',
      figure: 'not cacheable (no HEAD, no S3): p50',
      value: `${p50('not cacheable').toFixed(2)} ms`,
      goal: 'no goal',
      holds: undefined,
    });
    for (const name of ['origin 200, cached', 'miss', 'origin 404, cached']) {
      const key = `sequential reference: ${name}`;
      rows.push({
        section: 'handler latency',
        figure: `${key} (HEAD, S3 HEAD, then Invoke or presign)`,
        value: `${ratio(p50(key), bare)} (${p50(key).toFixed(1)} ms)`,
        goal: 'reference',
        holds: undefined,
      });
    }
    return { rows, p50Ms: p50 };
  } finally {
    for (const server of [origin, s3, invoke]) {
      server.closeAllConnections();
      server.close();
    }
  }
};
