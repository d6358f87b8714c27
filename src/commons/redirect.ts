/**
 * The handler's use case: where to send a client asking for a path.
 * Knows nothing of API Gateway; takes its clients and config as arguments.
 */
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import { isCached, presignedGetUrl } from './cache-store.js';
import type { HandlerConfig } from './config.js';
import { headOrigin, type OriginHeadResult } from './origin.js';
import { cacheKey, isCacheable, originUrl } from './paths.js';
import { triggerUpload } from './uploader-trigger.js';

/**
 * What happened to a request; sent as the `X-Cache` header and logged.
 * - `hit`: redirected to the cached copy (origin could not serve it);
 * - `stored`: origin has it and a cached copy exists;
 * - `miss`: not cached; the upload was triggered if origin had it;
 * - `bypass`: not a cacheable file;
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
  readonly originHeadMs?: number;
}

export interface RedirectDependencies {
  readonly config: HandlerConfig;
  readonly s3: S3Client;
  readonly lambda: LambdaClient;
  /** Probes the origin; the Lambda passes a traced {@link headOrigin}. */
  readonly probeOrigin?: (url: string, timeoutMs: number) => Promise<OriginHeadResult>;
}

/**
 * Decides the redirect for a valid, decoded path (see `checkPath`).
 * S3 and Lambda errors are thrown: the fallback middleware turns them into a
 * redirect to origin.
 */
export const decideRedirect = async (path: string, deps: RedirectDependencies): Promise<RedirectDecision> => {
  const { config, s3, lambda, probeOrigin = headOrigin } = deps;
  const origin = originUrl(config.originBaseUrl, path);
  if (!isCacheable(path, config.cacheExtensions)) {
    return { outcome: 'bypass', location: origin, uploadTriggered: false };
  }

  const headStarted = performance.now();
  const head = await probeOrigin(origin, config.originHeadTimeoutMs);
  const probe = {
    originStatus: head.status,
    originHeadMs: Math.round(performance.now() - headStarted),
    ...('error' in head ? { originError: head.error } : {}),
  };
  const key = cacheKey(path);
  const cached = await isCached(s3, config.bucketName, key);

  if (head.available) {
    if (cached) {
      return { outcome: 'stored', location: origin, cached, uploadTriggered: false, ...probe };
    }
    await triggerUpload(lambda, config.uploaderFunctionName, path);
    return { outcome: 'miss', location: origin, cached, uploadTriggered: true, ...probe };
  }

  if (cached) {
    const location = await presignedGetUrl(s3, config.bucketName, key, config.presignedUrlExpirationSeconds);
    return { outcome: 'hit', location, cached, uploadTriggered: false, ...probe };
  }
  return { outcome: 'miss', location: origin, cached, uploadTriggered: false, ...probe };
};
