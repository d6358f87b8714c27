/**
 * What the handler may answer from the cache: a cacheable file under
 * `cache/<path>` (redirect.ts decides its answer), or a file of a repository's
 * metadata (snapshot/ decides).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { isCached } from '../commons/cache-store.js';
import type { HandlerConfig } from '../commons/config.js';
import { pathBeforeOrigins } from '../commons/origins.js';
import { cacheKey, cacheKeyProblem, isCacheable } from '../commons/paths.js';
import { type OriginValidators, type RepodataPath, repodataPath } from '../commons/repodata.js';
import type { RedirectMemo } from './recent-keys.js';

export type StoredCopy = { readonly kind: 'stored'; readonly key: string } | { readonly kind: 'none' };

export interface StoredCopyLookup {
  readonly copy: StoredCopy;
  /** Whether the stored copy is what the origin serves now (for `X-Cache: stored`). */
  readonly isCurrent: (origin: OriginValidators | undefined) => boolean;
}

/** A cacheable file: a miss triggers its upload as soon as S3 says "not cached". */
export interface CacheTarget {
  readonly kind: 'file';
  /** Names the path in the container's memo. */
  readonly memoKey: string;
  lookUp(abortSignal: AbortSignal): Promise<StoredCopyLookup>;
}

/** Repository metadata: answered from the repository's snapshots (see snapshot/serving-rules.ts). */
export interface RepodataTarget {
  readonly kind: 'repodata';
  readonly repodata: RepodataPath;
}

/** A path answered by a redirect to origin alone, and why (when it is a cacheable file whose path cannot be a key). */
export interface Bypass {
  readonly kind: 'bypass';
  readonly uncachedReason?: string;
}

/**
 * The first of `keys` that S3 holds (all asked at once), or undefined. A key
 * found is the answer whatever the others' lookups did (the keys hold the same
 * file); a failed lookup is thrown only when no key was found.
 */
const firstCached = async (keys: readonly string[], s3: S3Client, bucket: string, abortSignal: AbortSignal) => {
  const lookups = await Promise.allSettled(keys.map((key) => isCached(s3, bucket, key, abortSignal)));
  const found = lookups.findIndex((lookup) => lookup.status === 'fulfilled' && lookup.value);
  if (found >= 0) return keys[found];
  const failed = lookups.find((lookup) => lookup.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return undefined;
};

/**
 * A cacheable file stored under the first of `keys` that exists: its own key,
 * then the key it had before `ORIGINS` named its origin (see
 * pathBeforeOrigins), looked up side by side.
 */
const fileTarget = (
  keys: readonly [string, ...string[]],
  s3: S3Client,
  config: HandlerConfig,
  memo: RedirectMemo | undefined,
): CacheTarget => ({
  kind: 'file',
  memoKey: keys[0],
  lookUp: async (abortSignal) => {
    const remembered = keys.find((key) => memo?.cached.has(key) === true);
    const found = remembered ?? (await firstCached(keys, s3, config.bucketName, abortSignal));
    if (found !== undefined) memo?.cached.add(found);
    const copy: StoredCopy = found === undefined ? { kind: 'none' } : { kind: 'stored', key: found };
    return { copy, isCurrent: () => found !== undefined };
  },
});

/** What `path` is to the cache. Repository metadata comes first, whatever CACHE_EXTENSIONS says. */
export const cacheTargetOf = (
  path: string,
  { config, s3, memo }: { readonly config: HandlerConfig; readonly s3: S3Client; readonly memo?: RedirectMemo },
): CacheTarget | RepodataTarget | Bypass => {
  const repodata = repodataPath(path);
  const cacheable = repodata !== undefined || isCacheable(path, config.cacheExtensions);
  if (!cacheable) return { kind: 'bypass' };
  const uncachedReason = cacheKeyProblem(path);
  if (uncachedReason !== undefined) {
    // Repository metadata under such a path is never snapshot either: no reason to give.
    return repodata === undefined ? { kind: 'bypass', uncachedReason } : { kind: 'bypass' };
  }
  if (repodata === undefined) {
    const before = pathBeforeOrigins(config, path);
    const keys: [string, ...string[]] = [cacheKey(path), ...(before === undefined ? [] : [cacheKey(before)])];
    return fileTarget(keys, s3, config, memo);
  }
  return { kind: 'repodata', repodata };
};
