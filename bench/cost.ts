/**
 * Section 5: what each function's memory size buys, and what a million
 * requests cost through each front door, from the durations and CPU times
 * measured in this run, at AWS's published prices.
 *
 * Lambda gives a function CPU in proportion to its memory: the equivalent of
 * one vCPU at 1,769 MB (AWS Lambda developer guide, "Configuring Lambda
 * function memory"). The handler is measured at each size under that share
 * of a core (cpu-share.ts); where no cgroup can be made, and for the
 * uploader (CPU-bound, long runs), a size is modeled: the CPU time a request
 * used on a full core takes 1769/M times as long, and the rest of its wall
 * time (waiting on the origin, S3 and Lambda) stays as it was. This machine's
 * cores are not Graviton cores: the deployed function's own REPORT lines are
 * the truth.
 */
import { FUNCTION_SIZES } from '../infra/lib/function-sizes.js';
import { MB_PER_VCPU } from './cpu-share.js';
import { HANDLER_CANDIDATES_MB, type HandlerFigures } from './latency.js';
import type { Row } from './stats.js';
import type { UploaderFigures } from './upload.js';

/**
 * Prices in USD, us-east-1, arm64, as published on aws.amazon.com/lambda/pricing,
 * aws.amazon.com/api-gateway/pricing and aws.amazon.com/s3/pricing (S3 Standard),
 * read 2026-12 (HTTP API: the first 300 million requests a month; a Function URL
 * costs nothing beyond the invocation): check the pages for today's figures and your region.
 */
export const PRICES = Object.freeze({
  lambdaPerRequest: 0.2 / 1e6,
  lambdaArmPerGbSecond: 0.0000133334,
  httpApiPerRequest: 1.0 / 1e6,
  functionUrlPerRequest: 0,
  s3GetClassPerRequest: 0.0004 / 1000,
  s3PutClassPerRequest: 0.005 / 1000,
});

export const UPLOADER_CANDIDATES_MB = [512, 1024, 1769] as const;
/** The most the deployed handler size's CPU share may add to a cached answer, against 1024 MB's. */
export const MAX_ADDED_MS = 5;
/** The size the deployed one is held against: twice the CPU, where the handler waits on the network anyway. */
const REFERENCE_MB = 1024;
/** A size must hold twice the peak RSS measured: room for a burst of connections and the SDK's buffers. */
const RSS_HEADROOM = 2;
export const FUNCTION_URL_GOAL = 0.85;

/** How much longer CPU work takes at `memoryMb` than on one full core. */
const stretch = (memoryMb: number) => Math.max(1, MB_PER_VCPU / memoryMb);
/** Wall time at `memoryMb`: the CPU part stretched, the waiting as measured. */
export const modeledMs = (wallMs: number, cpuMs: number, memoryMb: number) => wallMs + cpuMs * (stretch(memoryMb) - 1);

const dollars = (value: number) => `$${value.toFixed(2)}`;
const CACHED = 'origin 200, cached';
const MISS = 'origin 200, not cached (upload triggered)';
const STALE = 'origin 404, cached (presigned)';

/**
 * One handler request at `memoryMb` through `frontDoor`: Lambda, the front door, its S3 reads (the HEAD; a miss
 * also reads the refusal record), the billed duration.
 */
const handlerCost = (durationMs: number, memoryMb: number, frontDoorPerRequest: number, s3Reads = 1) =>
  PRICES.lambdaPerRequest +
  frontDoorPerRequest +
  s3Reads * PRICES.s3GetClassPerRequest +
  (Math.ceil(durationMs) / 1000) * (memoryMb / 1024) * PRICES.lambdaArmPerGbSecond;

/** One upload: the invoke, HeadObject, claim PUT and DELETE, CreateMultipartUpload, 2 parts, Complete, and its duration. */
const uploadCost = (seconds: number, memoryMb: number) =>
  PRICES.lambdaPerRequest +
  PRICES.s3GetClassPerRequest +
  6 * PRICES.s3PutClassPerRequest +
  seconds * (memoryMb / 1024) * PRICES.lambdaArmPerGbSecond;

/** The handler's p50 of case `name` at `memoryMb`: measured under its CPU share, else modeled from a full core. */
const handlerMs = (handler: HandlerFigures, memoryMb: number, name: string): number => {
  const measured = handler.sizes?.get(memoryMb);
  return measured === undefined ? modeledMs(handler.p50Ms(name), handler.cpuMs(name), memoryMb) : measured.p50Ms(name);
};

/** The handler's memory: what each size would cost and add, and whether the deployed one holds. */
export const handlerMemoryRows = (handler: HandlerFigures): Row[] => {
  const rows: Row[] = [];
  const cpu = (name: string) => handler.cpuMs(name);
  const how = handler.sizes === undefined ? 'modeled' : 'measured under its CPU share';
  rows.push({
    section: 'memory',
    figure:
      'handler CPU time per request (100 in a row): cached / miss / stale (origin 404, cached), a bare origin HEAD; init (import)',
    value: `${cpu(CACHED).toFixed(2)} / ${cpu(MISS).toFixed(2)} / ${cpu(STALE).toFixed(2)} ms, bare HEAD ${cpu('bare origin HEAD').toFixed(2)} ms; init ${handler.init.cpuMs.toFixed(0)} ms CPU; peak RSS ${handler.peakRssMb.toFixed(0)} MB`,
    goal: 'shown, no goal',
    holds: undefined,
  });
  for (const memoryMb of HANDLER_CANDIDATES_MB) {
    const at = (name: string) => handlerMs(handler, memoryMb, name);
    const measured = handler.sizes?.get(memoryMb);
    const init = measured?.initWallMs ?? modeledMs(handler.init.wallMs, handler.init.cpuMs, memoryMb);
    const deployed = memoryMb === FUNCTION_SIZES.handler.memoryMb ? ' (deployed)' : '';
    const fits = memoryMb >= handler.peakRssMb * RSS_HEADROOM;
    rows.push({
      section: 'memory',
      figure: `handler at ${memoryMb} MB${deployed}, ${how}: p50 cached / miss / stale, init; per million cached (Function URL)`,
      value: `${at(CACHED).toFixed(1)} / ${at(MISS).toFixed(1)} / ${at(STALE).toFixed(1)} ms, init ${init.toFixed(0)} ms; ${dollars(handlerCost(at(CACHED), memoryMb, PRICES.functionUrlPerRequest) * 1e6)}${fits ? '' : `; under ${RSS_HEADROOM}× peak RSS`}`,
      goal: 'shown, no goal',
      holds: undefined,
    });
  }
  const deployedMb = FUNCTION_SIZES.handler.memoryMb;
  const added = handlerMs(handler, deployedMb, CACHED) - handlerMs(handler, REFERENCE_MB, CACHED);
  rows.push({
    section: 'memory',
    figure: `handler at ${deployedMb} MB: what its CPU share adds to a cached answer against ${REFERENCE_MB} MB (${how}); memory vs peak RSS`,
    value: `${added >= 0 ? '+' : ''}${added.toFixed(1)} ms; ${deployedMb} MB vs ${handler.peakRssMb.toFixed(0)} MB`,
    goal: `≤ ${MAX_ADDED_MS} ms, ≥ ${RSS_HEADROOM}× peak RSS`,
    holds: added <= MAX_ADDED_MS && deployedMb >= handler.peakRssMb * RSS_HEADROOM,
  });
  return rows;
};

/** The uploader's memory: modeled wall and cost at each size, and whether the deployed one holds. */
export const uploaderMemoryRows = (uploader: ReadonlyMap<number, UploaderFigures>): Row[] => {
  const rows: Row[] = [];
  for (const memoryMb of UPLOADER_CANDIDATES_MB) {
    const walls = [...uploader].map(
      ([sizeMiB, run]) => `${sizeMiB} MiB ${modeledMs(run.seconds, run.cpuSeconds, memoryMb).toFixed(1)} s`,
    );
    const tenMiB = uploader.get(10);
    const cost =
      tenMiB === undefined ? Number.NaN : uploadCost(modeledMs(tenMiB.seconds, tenMiB.cpuSeconds, memoryMb), memoryMb);
    const deployed = memoryMb === FUNCTION_SIZES.uploader.memoryMb ? ' (deployed)' : '';
    rows.push({
      section: 'memory',
      figure: `uploader at ${memoryMb} MB${deployed}: modeled wall per RPM; per million 10 MiB uploads`,
      value: `${walls.join(', ')}; ${dollars(cost * 1e6)}`,
      goal: 'shown, no goal',
      holds: undefined,
    });
  }
  const cpuShown = [...uploader].map(([sizeMiB, run]) => `${sizeMiB} MiB ${run.cpuSeconds.toFixed(1)} s`);
  const peak = Math.max(...[...uploader.values()].map((run) => run.maxRssMiB));
  const largest = [...uploader].at(-1);
  const largestWall =
    largest === undefined
      ? Number.NaN
      : modeledMs(largest[1].seconds, largest[1].cpuSeconds, FUNCTION_SIZES.uploader.memoryMb);
  const timeout = FUNCTION_SIZES.uploader.timeoutSeconds;
  rows.push({
    section: 'memory',
    figure: `uploader at ${FUNCTION_SIZES.uploader.memoryMb} MB: CPU per RPM on one core (${cpuShown.join(', ')}); the largest's modeled wall vs the timeout; memory vs peak RSS`,
    value: `${largestWall.toFixed(0)} s of ${timeout} s; ${FUNCTION_SIZES.uploader.memoryMb} MB vs ${peak.toFixed(0)} MB`,
    goal: `≤ a third of the timeout, ≥ ${RSS_HEADROOM}× peak RSS`,
    holds: largestWall <= timeout / 3 && FUNCTION_SIZES.uploader.memoryMb >= peak * RSS_HEADROOM,
  });
  return rows;
};

/** A million requests through each front door at the deployed sizes, with the modeled durations. */
export const costRows = (handler: HandlerFigures, uploader: ReadonlyMap<number, UploaderFigures>): Row[] => {
  const { memoryMb } = FUNCTION_SIZES.handler;
  const duration = (name: string) => handlerMs(handler, memoryMb, name);
  const tenMiB = uploader.get(10);
  const upload =
    tenMiB === undefined
      ? Number.NaN
      : uploadCost(
          modeledMs(tenMiB.seconds, tenMiB.cpuSeconds, FUNCTION_SIZES.uploader.memoryMb),
          FUNCTION_SIZES.uploader.memoryMb,
        );
  const doors = [
    { name: 'HTTP API', perRequest: PRICES.httpApiPerRequest },
    { name: 'Function URL', perRequest: PRICES.functionUrlPerRequest },
  ] as const;
  return doors.flatMap(({ name, perRequest }): Row[] => {
    const cached = handlerCost(duration(CACHED), memoryMb, perRequest) * 1e6;
    return [
      {
        section: 'cost',
        figure: `${name}: per million requests for cached files (origin 200, cached): Lambda${perRequest > 0 ? `, ${name}` : ''}, S3 HEAD, ${memoryMb} MB for ${Math.ceil(duration(CACHED))} ms`,
        value: dollars(cached),
        goal: name === 'Function URL' ? `≤ ${dollars(FUNCTION_URL_GOAL)}` : 'shown, no goal',
        holds: name === 'Function URL' ? cached <= FUNCTION_URL_GOAL : undefined,
      },
      {
        section: 'cost',
        figure: `${name}: per million misses of 10 MiB RPMs: the request (S3 HEAD and the refusal record's GET), plus one upload each`,
        value: dollars((handlerCost(duration(MISS), memoryMb, perRequest, 2) + upload) * 1e6),
        goal: 'shown, no goal',
        holds: undefined,
      },
    ];
  });
};
