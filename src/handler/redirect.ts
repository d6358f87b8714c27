/**
 * The handler's use case: where to send a client asking for a path.
 * Knows nothing of API Gateway; takes its clients and config as arguments.
 */
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import { isCached } from '../commons/cache-store.js';
import type { HandlerConfig } from '../commons/config.js';
import { cacheKey, cacheKeyProblem, isCacheable, originUrl } from '../commons/paths.js';
import { headOrigin, type OriginHeadResult } from './origin.js';
import { presignedGetUrl } from './presign.js';
import type { RedirectMemo } from './recent-keys.js';
import { triggerUpload } from './uploader-trigger.js';

/**
 * What happened to a request; sent as the `X-Cache` header and logged.
 * - `hit`: redirected to the cached copy (origin could not serve it);
 * - `stored`: origin has it and a cached copy exists;
 * - `miss`: not cached; the upload was triggered (the uploader ends `origin-missing` if origin lost it);
 * - `bypass`: not a cacheable file, or one whose path cannot be a cache key;
 * - `fallback`: an S3 or Lambda error sent it to origin.
 */
export type CacheOutcome = 'hit' | 'stored' | 'miss' | 'bypass' | 'fallback';

export interface RedirectDecision {
  readonly outcome: Exclude<CacheOutcome, 'fallback'>;
  readonly location: string;
  readonly originStatus?: OriginHeadResult['status'];
  readonly originError?: string;
  readonly cached?: boolean;
  readonly uploadTriggered: boolean;
  /** The upload was not triggered because this container triggered it lately. */
  readonly uploadAlreadyTriggered?: boolean;
  readonly originHeadMs?: number;
  /** Why a cacheable file was sent to origin without a look at the cache (its path cannot be a key). */
  readonly uncachedReason?: string;
}

export interface RedirectDependencies {
  readonly config: HandlerConfig;
  readonly s3: S3Client;
  readonly lambda: LambdaClient;
  /** Probes the origin; the Lambda passes a traced {@link headOrigin}. */
  readonly probeOrigin?: (url: string, timeoutMs: number) => Promise<OriginHeadResult>;
  /** What this container remembers between requests (none: ask S3 and trigger every time). */
  readonly memo?: RedirectMemo;
}

/**
 * S3 and Lambda calls of one request must end this long after the origin
 * HEAD's own timeout, so that every answer comes within ORIGIN_HEAD_TIMEOUT
 * plus a second, whatever the state of S3 or Lambda.
 */
export const AWS_GRACE_MS = 700;

/** What became of the upload trigger: S3 had the file, this container triggered it lately, or it was triggered now. */
type UploadTrigger = 'not-needed' | 'triggered-lately' | 'triggered';

/** The origin HEAD, and how long it took. */
const timedProbe = async (
  probeOrigin: NonNullable<RedirectDependencies['probeOrigin']>,
  origin: string,
  timeoutMs: number,
): Promise<{ readonly result: OriginHeadResult; readonly ms: number }> => {
  const started = performance.now();
  const result = await probeOrigin(origin, timeoutMs);
  return { result, ms: Math.round(performance.now() - started) };
};

/**
 * Triggers the upload as soon as S3 says "not cached", while the origin HEAD
 * is still out: a miss then costs one origin round trip, not two. For a file
 * the origin lost too, the uploader ends `origin-missing` at the cost of one
 * run, and the memo keeps a repeated request from invoking again.
 */
const triggerWhenUncached = async (
  lookedUp: Promise<boolean>,
  { path, key }: { readonly path: string; readonly key: string },
  { config, lambda, memo }: RedirectDependencies,
  deadline: AbortSignal,
  requestId: string | undefined,
): Promise<UploadTrigger> => {
  if (await lookedUp) return 'not-needed';
  if (memo !== undefined && !memo.triggered.tryAdd(key)) return 'triggered-lately';
  try {
    await triggerUpload(lambda, config.uploaderFunctionName, path, deadline, requestId);
  } catch (error) {
    // Let the next request try again.
    memo?.triggered.delete(key);
    throw error;
  }
  return 'triggered';
};

/**
 * Decides the redirect for a valid, decoded path (see `checkPath`); the
 * request id, when given, goes with the uploader's event.
 * S3 and Lambda errors are thrown: the fallback middleware turns them into a
 * redirect to origin.
 */
export const decideRedirect = async (
  path: string,
  deps: RedirectDependencies,
  requestId?: string,
): Promise<RedirectDecision> => {
  const { config, s3, probeOrigin = headOrigin, memo } = deps;
  const origin = originUrl(config.originBaseUrl, path);
  if (!isCacheable(path, config.cacheExtensions)) {
    return { outcome: 'bypass', location: origin, uploadTriggered: false };
  }
  const uncachedReason = cacheKeyProblem(path);
  if (uncachedReason !== undefined) {
    return { outcome: 'bypass', location: origin, uploadTriggered: false, uncachedReason };
  }

  const key = cacheKey(path);
  const deadline = AbortSignal.timeout(config.originHeadTimeoutMs + AWS_GRACE_MS);
  const probed = timedProbe(probeOrigin, origin, config.originHeadTimeoutMs);
  const lookedUp =
    memo?.cached.has(key) === true ? Promise.resolve(true) : isCached(s3, config.bucketName, key, deadline);
  const triggered = triggerWhenUncached(lookedUp, { path, key }, deps, deadline, requestId);
  // A cached copy is signed while the origin HEAD is still out, so a hit waits
  // for nothing after it; the URL goes unused when the origin serves the file.
  const signed = lookedUp.then((cached) =>
    cached ? presignedGetUrl(s3, config.bucketName, key, config.presignedUrlExpirationSeconds) : undefined,
  );
  // Awaited only for a hit, where a signing failure is thrown.
  signed.catch(() => undefined);
  const [head, cached, trigger] = await Promise.all([probed, lookedUp, triggered]);
  if (cached) memo?.cached.add(key);
  const probe = {
    originStatus: head.result.status,
    originHeadMs: head.ms,
    cached,
    ...('error' in head.result ? { originError: head.result.error } : {}),
  };
  const upload = {
    uploadTriggered: trigger === 'triggered',
    ...(trigger === 'triggered-lately' ? { uploadAlreadyTriggered: true } : {}),
  };

  if (head.result.available) {
    if (cached) {
      return { outcome: 'stored', location: origin, uploadTriggered: false, ...probe };
    }
    return { outcome: 'miss', location: origin, ...upload, ...probe };
  }

  const location = await signed;
  if (location !== undefined) return { outcome: 'hit', location, uploadTriggered: false, ...probe };
  return { outcome: 'miss', location: origin, ...upload, ...probe };
};
