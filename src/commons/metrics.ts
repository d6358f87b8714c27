/**
 * CloudWatch metrics (embedded metric format, written to stdout with the
 * logs), created once per container and shared by both Lambdas. Dimensions
 * stay few and bounded: never a path, which would make one metric per file.
 *
 * Namespace `RpmCache` (or `POWERTOOLS_METRICS_NAMESPACE`); every metric has
 * the dimension `service` = `rpm-cache`, plus:
 * - `Requests` (Count) by `Outcome`: hit, stale, stored, miss, bypass, fallback, bad-request;
 * - `Fallbacks` (Count) by `Cause`: the error's name (`TimeoutError`,
 *   `ThrottlingException`, `AccessDenied`, or `HTTP<status>` when S3 sent no name);
 * - `OriginHeadLatency` (Milliseconds), cacheable requests only;
 * - `Uploads` (Count) by `Outcome`: stored, already-cached, origin-missing,
 *   corrupt, lost-race, claimed-elsewhere, failed, rejected;
 * - `BytesStored` (Bytes), per stored file;
 * - `Snapshots` (Count) by `Outcome`: stored, already-current, outdated,
 *   origin-missing, incomplete, corrupt, claimed-elsewhere, lost-race;
 * - `StaleAnswers` (Count) by `Reason`: requests answered from the cache
 *   because the origin could not serve them (`origin-failed`), was assumed
 *   offline (`assumed-offline`) or had lost the file lately (`origin-lost`);
 * - `OriginAssumedOffline` (Count): requests answered without asking the
 *   origin because a HEAD timed out lately (the alarm watches it);
 * - `RequestsByOrigin`, `UploadsByOrigin` (Count) by `Origin` (an `ORIGINS`
 *   name, or `default` for `ORIGIN_HOST`: bounded by the config) and `Outcome`;
 * - `TimeTravelAnswers` (Count) by `Outcome`: answers under `/@` (served,
 *   not-in-snapshot, before-history, future, malformed, no-history, listed,
 *   passed-through, unavailable);
 * - `ColdStart` (Count) by `function_name`, from Powertools.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { awsErrorFacts } from './aws-errors.js';
import { SERVICE_NAME } from './powertools.js';

export const DEFAULT_METRICS_NAMESPACE = 'RpmCache';

export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE?.trim() || DEFAULT_METRICS_NAMESPACE,
  serviceName: SERVICE_NAME,
});

/** Options of Powertools' `logMetrics` middleware, the same for both chains. */
export const LOG_METRICS_OPTIONS = Object.freeze({ captureColdStartMetric: true });

/** Counts one handler answer under its `X-Cache` outcome (or `bad-request`). */
export const countRequest = (outcome: string): void => {
  metrics.addDimension('Outcome', outcome);
  metrics.addMetric('Requests', MetricUnit.Count, 1);
};

/** Counts one uploader invocation under its outcome. */
export const countUpload = (outcome: string): void => {
  metrics.addDimension('Outcome', outcome);
  metrics.addMetric('Uploads', MetricUnit.Count, 1);
};

/** Counts one snapshot run under its outcome. */
export const countSnapshot = (outcome: string): void => {
  metrics.addDimension('Outcome', outcome);
  metrics.addMetric('Snapshots', MetricUnit.Count, 1);
};

/** Metrics without the invocation's `Outcome` dimension, so they aggregate across outcomes. */
type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

const standalone = (name: string, unit: Unit, value: number, dimensions: Record<string, string> = {}): void => {
  const single = metrics.singleMetric();
  for (const [dimension, dimensionValue] of Object.entries(dimensions)) single.addDimension(dimension, dimensionValue);
  single.addMetric(name, unit, value);
};

/** Counts one handler answer under its origin's name and its outcome (`Requests` stays by outcome alone, for the alarms). */
export const countOriginRequest = (origin: string, outcome: string): void =>
  standalone('RequestsByOrigin', MetricUnit.Count, 1, { Origin: origin, Outcome: outcome });

/** Counts one upload under its origin's name and its outcome (`Uploads` stays by outcome alone). */
export const countOriginUpload = (origin: string, outcome: string): void =>
  standalone('UploadsByOrigin', MetricUnit.Count, 1, { Origin: origin, Outcome: outcome });

export const recordOriginHeadLatency = (ms: number): void =>
  standalone('OriginHeadLatency', MetricUnit.Milliseconds, ms);

/** Why a request was answered from the cache without the origin's copy. */
export type StaleReason = 'origin-failed' | 'assumed-offline' | 'origin-lost';

export const countStaleAnswer = (reason: StaleReason): void =>
  standalone('StaleAnswers', MetricUnit.Count, 1, { Reason: reason });

/** One answer under `/@` (a time-travel request), by what it was. */
export const countTimeTravel = (outcome: string): void =>
  standalone('TimeTravelAnswers', MetricUnit.Count, 1, { Outcome: outcome });

/** One `/metalink` or `/mirrorlist` answer, by what it was (handler/metalink/answer.ts). */
export const countMetalinkAnswer = (service: string, outcome: string): void =>
  standalone('MetalinkAnswers', MetricUnit.Count, 1, { Service: service, Outcome: outcome });

/** One request answered without asking the origin, because it was assumed offline. */
export const countOfflineAnswer = (): void => standalone('OriginAssumedOffline', MetricUnit.Count, 1);

export const recordBytesStored = (bytes: number): void => standalone('BytesStored', MetricUnit.Bytes, bytes);

/** RPMs a mirrored repository's new snapshot sent to the mirror queue (those the cache did not hold yet). */
export const recordMirrorQueued = (count: number): void => standalone('MirrorQueued', MetricUnit.Count, count);

/** A bounded label for what made the handler fall back: an error's name, never its message. */
export const fallbackCause = (error: unknown): string => {
  const name = error instanceof Error ? error.name : undefined;
  const { errorStatus } = awsErrorFacts(error);
  const named =
    name !== undefined && /^[A-Za-z][A-Za-z0-9]{0,63}$/.test(name) && name !== 'Unknown' && name !== 'Error';
  if (named) return name;
  return errorStatus === undefined ? 'Error' : `HTTP${errorStatus}`;
};

export const countFallback = (error: unknown): void =>
  standalone('Fallbacks', MetricUnit.Count, 1, { Cause: fallbackCause(error) });
