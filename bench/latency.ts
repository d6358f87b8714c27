/**
 * Section 1: handler latency per decision path, as a ratio to one bare
 * origin HEAD round trip measured in the same run.
 */
import { fork } from 'node:child_process';
import type { Server } from 'node:http';
import { resolve } from 'node:path';
import { LAMBDA_BOOTSTRAP, lambdaStartEnvironment } from '../__tests__/helpers/lambda-start.js';
import { FUNCTION_SIZES } from '../infra/lib/function-sizes.js';
import { AWS_GRACE_MS } from '../src/handler/redirect.js';
import { cpuShareBootstrap, PERIOD_US } from './cpu-share.js';
import { LATENCY_MS, startInvoke, startOrigin, startS3, urlOf } from './servers.js';
import { median, percentile, type Row, ratio } from './stats.js';

const ORIGIN_HEAD_TIMEOUT_S = 0.1;
const GOAL = 1.1;
/** A file the origin lost, asked again: served with no origin round trip at all. */
const LOST_GOAL = 0.5;
/** Containers (fresh processes) that each meet the hanging origin once; their median is judged. */
const OUTAGE_ROUNDS = 5;
const OUTAGE_REQUESTS = 20;

type Servers = { readonly origin: Server; readonly s3: Server; readonly invoke: Server };

/** One handler container in a process of its own; resolves to what it measured. */
/** How a worker is started: with which memory size's heap flags, through which bootstrap (a CPU share, or none). */
interface Start {
  readonly memoryMb: number;
  readonly bootstrap: string;
}

const runWorker = (workerPath: string, { origin, s3, invoke }: Servers, extra: Record<string, string>, start: Start) =>
  new Promise<Record<string, number[]>>((done, fail) => {
    // As Lambda starts the handler: its bootstrap (which execs node, keeping the IPC channel), the image's ENV.
    const worker = fork(workerPath, {
      execPath: start.bootstrap,
      execArgv: [],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: {
        PATH: process.env.PATH ?? '',
        ...lambdaStartEnvironment(start.memoryMb),
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
        ...extra,
      },
    });
    worker.once('message', (message) => done(message as Record<string, number[]>));
    worker.once('exit', (code) => {
      if (code !== 0) fail(new Error(`latency worker exited ${code}`));
    });
  });

/** A handler's p50 per case and its init, at one memory size's CPU share. */
export interface SizeFigures {
  readonly p50Ms: (name: string) => number;
  readonly initWallMs: number;
}

/** What the memory rows need of the handler: wall and CPU per request, init, peak RSS, and each size measured. */
export interface HandlerFigures {
  /** p50 per case at the deployed size: under its CPU share when `sizes` is defined, else on a full core. */
  readonly p50Ms: (name: string) => number;
  /** Each candidate size measured under its CPU share; undefined where no cgroup could be made (then modeled). */
  readonly sizes: ReadonlyMap<number, SizeFigures> | undefined;
  /** Median CPU milliseconds of one request of the case `name`, on one full core. */
  readonly cpuMs: (name: string) => number;
  readonly init: { readonly wallMs: number; readonly cpuMs: number };
  readonly peakRssMb: number;
}

/** Memory sizes the handler is measured at, besides the deployed one (fewer requests each). */
export const HANDLER_CANDIDATES_MB = [128, 256, 512, 1024] as const;
const CANDIDATE_REQUESTS = '40';

export const measureLatency = async (workerPath: string, dir: string): Promise<{ rows: Row[] } & HandlerFigures> => {
  const [origin, s3, invoke] = await Promise.all([startOrigin(), startS3(), startInvoke()]);
  const servers = { origin, s3, invoke };
  const deployedMb = FUNCTION_SIZES.handler.memoryMb;
  const shared = await cpuShareBootstrap(deployedMb, dir);
  const start: Start = { memoryMb: deployedMb, bootstrap: shared ?? LAMBDA_BOOTSTRAP };
  try {
    // Each decision path on its own: a stalled HEAD must not make the container assume the origin offline.
    const decisionPaths = {
      ORIGIN_OFFLINE_PERIOD: '0',
      ORIGINS: `mirrored=${urlOf(origin)}/gone,${urlOf(origin)}/ok hanging=${urlOf(origin)}/stall,${urlOf(origin)}/ok`,
    };
    const times = await runWorker(workerPath, servers, decisionPaths, start);
    const outageTotals: number[] = [];
    for (let round = 0; round < OUTAGE_ROUNDS; round += 1) {
      outageTotals.push(
        ...((await runWorker(workerPath, servers, { BENCH_LATENCY_MODE: 'outage' }, start)).total ?? []),
      );
    }
    const p50 = (name: string) => percentile(times[name] ?? [], 50);
    const first = (name: string) => times[name]?.[0] ?? Number.NaN;
    const p95 = (name: string) => percentile(times[name] ?? [], 95);
    const bare = p50('bare origin HEAD');
    const rows: Row[] = [
      {
        section: 'handler latency',
        figure: 'CPU the handler runs with',
        value:
          shared === undefined
            ? 'a full core: no cgroup could be made here (root and a writable cgroup file system are needed); the memory rows are modeled'
            : `${deployedMb} MB's share of one core (${deployedMb}/1769, a CFS quota in ${PERIOD_US / 1000} ms periods), as Lambda gives it`,
        goal: 'shown, no goal',
        holds: undefined,
      },
      {
        section: 'handler latency',
        figure: `bare origin HEAD round trip (origin ${LATENCY_MS.origin} ms, S3 ${LATENCY_MS.s3} ms, Invoke ${LATENCY_MS.invoke} ms injected)`,
        value: `p50 ${bare.toFixed(1)} ms, p95 ${p95('bare origin HEAD').toFixed(1)} ms`,
        goal: 'reference',
        holds: undefined,
      },
    ];
    for (const name of ['origin 200, cached', 'origin 404, cached (presigned)']) {
      rows.push({
        section: 'handler latency',
        figure: `${name}: p50 / p95 vs bare HEAD`,
        value: `${ratio(p50(name), bare)} / ${ratio(p95(name), bare)} (${p50(name).toFixed(1)} ms)`,
        goal: `p50 ≤ ${GOAL}×`,
        holds: p50(name) / bare <= GOAL,
      });
    }
    // A miss invokes the uploader only once the origin has confirmed the file: one HEAD, then one Invoke.
    const miss = 'origin 200, not cached (upload triggered)';
    const headThenInvoke = bare + p50('bare Invoke');
    rows.push({
      section: 'handler latency',
      figure: `${miss}: p50 / p95 vs bare HEAD + bare Invoke (${headThenInvoke.toFixed(1)} ms)`,
      value: `${ratio(p50(miss), headThenInvoke)} / ${ratio(p95(miss), headThenInvoke)} (${p50(miss).toFixed(1)} ms)`,
      goal: `p50 ≤ ${GOAL}×`,
      holds: p50(miss) / headThenInvoke <= GOAL,
    });
    const timeoutBound = ORIGIN_HEAD_TIMEOUT_S * 1000 + LATENCY_MS.s3 + 5;
    rows.push({
      section: 'handler latency',
      figure: `origin timeout (${ORIGIN_HEAD_TIMEOUT_S * 1000} ms), cached: p50 / p95`,
      value: `${p50('origin timeout, cached').toFixed(1)} / ${p95('origin timeout, cached').toFixed(1)} ms`,
      goal: `p50 ≤ timeout + one S3 round trip (${timeoutBound} ms)`,
      holds: p50('origin timeout, cached') <= timeoutBound,
    });
    // Mirrors: the first URL's HEAD, then the mirrors' (all at once), then the Invoke.
    const mirrored = 'first URL 404, mirror has it (upload triggered)';
    const twoHeadsThenInvoke = 2 * bare + p50('bare Invoke');
    rows.push({
      section: 'handler latency',
      figure: `${mirrored}: p50 / p95 vs 2 bare HEADs + bare Invoke (${twoHeadsThenInvoke.toFixed(1)} ms)`,
      value: `${ratio(p50(mirrored), twoHeadsThenInvoke)} / ${ratio(p95(mirrored), twoHeadsThenInvoke)} (${p50(mirrored).toFixed(1)} ms)`,
      goal: `p50 ≤ ${GOAL}×`,
      holds: p50(mirrored) / twoHeadsThenInvoke <= GOAL,
    });
    const hanging = 'first URL timeout, mirror has it (upload triggered)';
    const timeoutThenMirror = ORIGIN_HEAD_TIMEOUT_S * 1000 + bare + p50('bare Invoke');
    rows.push({
      section: 'handler latency',
      figure: `${hanging.replace('timeout', `timeout (${ORIGIN_HEAD_TIMEOUT_S * 1000} ms)`)}: p50 / p95 vs timeout + bare HEAD + bare Invoke (${timeoutThenMirror.toFixed(1)} ms; never more than 2 timeouts + ${AWS_GRACE_MS} ms)`,
      value: `${ratio(p50(hanging), timeoutThenMirror)} / ${ratio(p95(hanging), timeoutThenMirror)} (${p50(hanging).toFixed(1)} ms)`,
      goal: `p50 ≤ ${GOAL}×`,
      holds: p50(hanging) / timeoutThenMirror <= GOAL,
    });
    const lost = 'origin 404, cached, asked again';
    rows.push({
      section: 'handler latency',
      figure: `${lost} (the origin's 404 remembered: no HEAD): p50 / p95 vs bare HEAD`,
      value: `${ratio(p50(lost), bare)} / ${ratio(p95(lost), bare)} (${p50(lost).toFixed(1)} ms)`,
      goal: `p50 ≤ ${LOST_GOAL}×`,
      holds: p50(lost) / bare <= LOST_GOAL,
    });
    const hit = p50('origin 404, cached (presigned)');
    const outageBound = ORIGIN_HEAD_TIMEOUT_S * 1000 + OUTAGE_REQUESTS * hit;
    const outage = median(outageTotals);
    rows.push({
      section: 'handler latency',
      figure: `${OUTAGE_REQUESTS} requests for cached files, origin hanging, one container (median of ${OUTAGE_ROUNDS} containers)`,
      value: `${outage.toFixed(0)} ms (containers ${Math.min(...outageTotals).toFixed(0)}–${Math.max(...outageTotals).toFixed(0)} ms)`,
      goal: `≤ one timeout + ${OUTAGE_REQUESTS}× the cached hit (${outageBound.toFixed(0)} ms)`,
      holds: outage <= outageBound,
    });
    const unexpectedAnswers = first('unexpected answers');
    rows.push({
      section: 'handler latency',
      figure: `answers other than the decision path's (a HEAD past the ${ORIGIN_HEAD_TIMEOUT_S * 1000} ms timeout: with a small CPU share, now and then)`,
      value: `${unexpectedAnswers} of ${first('answers')}`,
      goal: '≤ 1%',
      holds: unexpectedAnswers <= first('answers') * 0.01,
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
    let sizes: Map<number, SizeFigures> | undefined;
    if (shared !== undefined) {
      sizes = new Map([[deployedMb, { p50Ms: p50, initWallMs: first('init wall') }]]);
      for (const memoryMb of HANDLER_CANDIDATES_MB) {
        if (memoryMb === deployedMb) continue;
        const bootstrap = await cpuShareBootstrap(memoryMb, dir);
        if (bootstrap === undefined) continue;
        const at = await runWorker(
          workerPath,
          servers,
          {
            ...decisionPaths,
            BENCH_LATENCY_REQUESTS: CANDIDATE_REQUESTS,
            BENCH_LATENCY_TOLERANT: '1',
            BENCH_LATENCY_CPU: '0',
          },
          { memoryMb, bootstrap },
        );
        sizes.set(memoryMb, {
          p50Ms: (name) => percentile(at[name] ?? [], 50),
          initWallMs: at['init wall']?.[0] ?? Number.NaN,
        });
      }
    }
    return {
      rows,
      sizes,
      p50Ms: p50,
      cpuMs: (name: string) => median(times[`cpu ${name}`] ?? []),
      init: { wallMs: first('init wall'), cpuMs: first('init cpu') },
      peakRssMb: first('peak rss'),
    };
  } finally {
    for (const server of Object.values(servers)) {
      server.closeAllConnections();
      server.close();
    }
  }
};
