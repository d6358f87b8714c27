/**
 * uploader Lambda (async invoke, event `{ "path": "<decoded path>" }`, or
 * the mirror queue's SQS events, each record such an event): copies one
 * file from origin (or, lost there, from an archive) into the cache, whole
 * or not at all, or, for a `<repo>/repodata/repomd.xml`, takes a snapshot of
 * the repository's metadata and, for a mirrored repository, queues the
 * upload of every RPM it lists that the cache does not hold.
 */
import { getHeapStatistics } from 'node:v8';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { type CachePathContext, validatedPath } from '../commons/cache-path.js';
import { UPLOADER_CLIENT_SETTINGS } from '../commons/clients.js';
import { parseCacheConfig } from '../commons/config.js';
import { createErrorReporter, reportSafely } from '../commons/error-reporting.js';
import {
  countOriginUpload,
  countSnapshot,
  countUpload,
  LOG_METRICS_OPTIONS,
  metrics,
  recordBytesStored,
  recordMirrorQueued,
} from '../commons/metrics.js';
import { originRoute } from '../commons/origins.js';
import { logger } from '../commons/powertools.js';
import { isSnapshotRequest, repodataPath } from '../commons/repodata.js';
import { createS3Client } from '../commons/s3-client.js';
import { loadTracing } from '../commons/tracing.js';
import { mirrorQueue } from './middlewares/mirror-queue.js';
import { uploadFailure } from './middlewares/upload-failure.js';
import { type UploaderContext, type UploaderResponse, uploaderEvent } from './middlewares/uploader-event.js';
import type { MirrorResult } from './mirror/fan-out.js';
import { parseMirrorConfig } from './mirror/mirror-config.js';
import { RpmVerificationError } from './rpm-verifier.js';
import type { SnapshotResult } from './snapshot/take.js';
import { cacheFromOrigin } from './upload.js';

const config = parseCacheConfig(process.env);
const tracing = await loadTracing(process.env);
const s3 = createS3Client(process.env, UPLOADER_CLIENT_SETTINGS, tracing.captureClient);
const reportError = createErrorReporter(config);
const mirror = parseMirrorConfig(process.env);
/**
 * The fan-out and its SQS sender, loaded at the first snapshot to mirror
 * (once per snapshot; most invocations are uploads): the SQS SDK costs a
 * cold start ~25 ms, and the build makes the sender a bundle of its own.
 */
/** Queues a mirrored repository's snapshot. */
type MirrorRun = (repoDir: string, snapshotId: string) => Promise<MirrorResult>;

const fanOut =
  mirror.queueUrl === undefined
    ? undefined
    : ((queueUrl: string) => {
        let loading: Promise<MirrorRun> | undefined;
        const load = async (): Promise<MirrorRun> => {
          const [{ createSqsSender }, { mirrorSnapshot }] = await Promise.all([
            import('./mirror/sqs-sender.js'),
            import('./mirror/fan-out.js'),
          ]);
          const sendMessageBatch = createSqsSender(UPLOADER_CLIENT_SETTINGS, tracing.captureClient);
          return (repoDir: string, snapshotId: string) =>
            mirrorSnapshot(repoDir, snapshotId, { config, s3, sendMessageBatch, queueUrl });
        };
        return async (repoDir: string, snapshotId: string) => {
          // A failed load is tried again by the next snapshot rather than kept.
          loading ??= load().catch((error: unknown) => {
            loading = undefined;
            throw error;
          });
          return (await loading)(repoDir, snapshotId);
        };
      })(mirror.queueUrl);
// The heap the runtime really gave (the image's NODE_OPTIONS, unless a changed bootstrap's flags win again).
logger.info('init', { heapLimitMb: Math.round(getHeapStatistics().heap_size_limit / 2 ** 20) });

/** A claim outlives its owner's own timeout by this much, then others may take over. */
const CLAIM_GRACE_MS = 5000;

const claimFor = (context: CachePathContext) => ({
  owner: context.awsRequestId,
  ttlMs: context.getRemainingTimeInMillis() + CLAIM_GRACE_MS,
});

/** Snapshot outcomes worth a warning: a mirror mid-sync, broken or lagging (the next repomd.xml request tries again). */
const SNAPSHOT_WARNINGS: ReadonlySet<string> = new Set(['incomplete', 'corrupt', 'outdated']);

/** A repository snapshot. */
const snapshotRequest = async (path: string, context: CachePathContext): Promise<SnapshotResult> => {
  const started = performance.now();
  // Loaded at the first snapshot: a repository's push makes one, its RPMs make the other cold starts (~20 KiB, ~5 ms).
  const { takeSnapshot } = await import('./snapshot/take.js');
  const result = await takeSnapshot(path, { config, s3, claim: claimFor(context) });
  countSnapshot(result.outcome);
  const line = {
    ...result,
    path,
    origin: originRoute(config, path).origin,
    durationMs: Math.round(performance.now() - started),
  };
  if (SNAPSHOT_WARNINGS.has(result.outcome)) logger.warn('snapshot', line);
  else logger.info('snapshot', line);
  await mirrorIfListed(path, result);
  return result;
};

/** A mirrored repository's current snapshot: its RPMs not stored yet go to the mirror queue (once per snapshot). */
const mirrorIfListed = async (path: string, { outcome, snapshotId }: SnapshotResult) => {
  const repoDir = repodataPath(path)?.repoDir;
  const current = outcome === 'stored' || outcome === 'already-current';
  if (!current || snapshotId === undefined || repoDir === undefined || !mirror.repositories.includes(repoDir)) return;
  if (fanOut === undefined) return;
  const started = performance.now();
  const result = await fanOut(repoDir, snapshotId);
  if (result.outcome === 'already-queued') return;
  if (result.queued !== undefined) recordMirrorQueued(result.queued);
  const durationMs = Math.round(performance.now() - started);
  logger.info('mirror', { ...result, repository: repoDir, snapshotId, durationMs });
};

const uploadRequest = async (_event: unknown, context: UploaderContext): Promise<UploaderResponse> => {
  const started = performance.now();
  const path = validatedPath(context);
  if (isSnapshotRequest(path)) return snapshotRequest(path, context);
  const { expected, listedBySnapshot } = context;
  const result = await cacheFromOrigin(path, {
    config,
    s3,
    claim: claimFor(context),
    ...(expected === undefined ? {} : { expected }),
    ...(expected !== undefined && listedBySnapshot === true ? { listed: expected } : {}),
  });
  const { verificationError, ...answer } = result;
  const { origin } = originRoute(config, path);
  const line = { ...answer, path, origin, durationMs: Math.round(performance.now() - started) };
  countUpload(answer.outcome);
  countOriginUpload(origin, answer.outcome);
  if ((answer.outcome === 'stored' || answer.outcome === 'rescued') && answer.bytes !== undefined) {
    recordBytesStored(answer.bytes);
  }
  if (answer.outcome !== 'corrupt') {
    logger.info('upload', line);
    return answer;
  }
  // Permanent for this origin response: reported (the verifier's own error, with its stack), not retried.
  logger.error('upload', line);
  const reported = verificationError ?? new RpmVerificationError(answer.reason ?? 'corrupt download');
  await reportSafely(reportError, reported, { path });
  return answer;
};

/** One record of the mirror queue, validated: the same core as an async invoke's. */
const mirroredUpload = (context: UploaderContext) => uploadRequest(undefined, context);

export const handler = middy<unknown, UploaderResponse, Error, UploaderContext>()
  .use(tracing.middleware)
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(logMetrics(metrics, LOG_METRICS_OPTIONS))
  .use(mirrorQueue({ cacheExtensions: config.cacheExtensions, reportError, upload: mirroredUpload }))
  .use(uploadFailure({ reportError }))
  .use(uploaderEvent({ cacheExtensions: config.cacheExtensions }))
  .handler(uploadRequest);
