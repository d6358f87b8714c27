/**
 * What the handler may answer from the cache: a cacheable file under
 * `cache/<path>`, or a file of a repository snapshot. Each kind says where
 * its stored copy is and what a miss triggers; redirect.ts decides the rest
 * the same way for both.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { isCached } from '../commons/cache-store.js';
import type { HandlerConfig } from '../commons/config.js';
import { cacheKey, cacheKeyProblem, isCacheable } from '../commons/paths.js';
import { type OriginValidators, REPOMD, repodataPath } from '../commons/repodata.js';
import type { RedirectMemo } from './recent-keys.js';
import { lookUpSnapshotFile } from './repodata.js';

export type StoredCopy =
  | { readonly kind: 'stored'; readonly key: string }
  /** The snapshot knows the origin had no such file (repomd.xml's `.asc`/`.key`). */
  | { readonly kind: 'absent' }
  | { readonly kind: 'none' };

export interface StoredCopyLookup {
  readonly copy: StoredCopy;
  /** Whether the stored copy is what the origin serves now (for `X-Cache: stored`). */
  readonly isCurrent: (origin: OriginValidators | undefined) => boolean;
}

/**
 * A path the cache may answer for:
 * - `file`: a cacheable file; a miss triggers its upload as soon as S3 says "not cached";
 * - `repomd`: a repository's repomd.xml; when the origin serves one the current
 *   snapshot is not of, it triggers a snapshot;
 * - `snapshot-file`: anything else a snapshot may hold (listed files, `.asc`, `.key`).
 */
export interface CacheTarget {
  readonly kind: 'file' | 'repomd' | 'snapshot-file';
  /** Names the path in the container's memo. */
  readonly memoKey: string;
  /** X-Cache of an answer from the stored copy when the origin cannot serve: repository metadata is `stale`. */
  readonly servedAs: 'hit' | 'stale';
  /**
   * X-Cache when there is no stored copy: `miss` (an upload or snapshot is, or can be, on its way), or
   * `bypass` for a snapshot file, which the cache keeps only as part of a snapshot (`rpm-cache warm` skips it).
   */
  readonly uncachedAs: 'miss' | 'bypass';
  lookUp(abortSignal: AbortSignal): Promise<StoredCopyLookup>;
}

/** A path answered by a redirect to origin alone, and why (when it is a cacheable file whose path cannot be a key). */
export interface Bypass {
  readonly kind: 'bypass';
  readonly uncachedReason?: string;
}

const fileTarget = (key: string, s3: S3Client, config: HandlerConfig, memo: RedirectMemo | undefined): CacheTarget => ({
  kind: 'file',
  memoKey: key,
  servedAs: 'hit',
  uncachedAs: 'miss',
  lookUp: async (abortSignal) => {
    const cached = memo?.cached.has(key) === true || (await isCached(s3, config.bucketName, key, abortSignal));
    if (cached) memo?.cached.add(key);
    const copy: StoredCopy = cached ? { kind: 'stored', key } : { kind: 'none' };
    return { copy, isCurrent: () => cached };
  },
});

/** What `path` is to the cache. Repository metadata comes first, whatever CACHE_EXTENSIONS says. */
export const cacheTargetOf = (
  path: string,
  { config, s3, memo }: { readonly config: HandlerConfig; readonly s3: S3Client; readonly memo?: RedirectMemo },
): CacheTarget | Bypass => {
  const repodata = repodataPath(path);
  const cacheable = repodata !== undefined || isCacheable(path, config.cacheExtensions);
  if (!cacheable) return { kind: 'bypass' };
  const uncachedReason = cacheKeyProblem(path);
  if (uncachedReason !== undefined) {
    // Repository metadata under such a path is never snapshot either: no reason to give.
    return repodata === undefined ? { kind: 'bypass', uncachedReason } : { kind: 'bypass' };
  }
  if (repodata === undefined) return fileTarget(cacheKey(path), s3, config, memo);
  const isRepomd = repodata.file === REPOMD;
  return {
    kind: isRepomd ? 'repomd' : 'snapshot-file',
    memoKey: `snapshot:${path}`,
    servedAs: repodata.kind === 'repomd' ? 'stale' : 'hit',
    uncachedAs: isRepomd ? 'miss' : 'bypass',
    lookUp: (abortSignal) => lookUpSnapshotFile(s3, config.bucketName, repodata, abortSignal),
  };
};
