/**
 * The uploader's use case: copy one file from origin into the cache, whole or
 * not at all. Takes its clients and config as arguments.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { isCached } from '../commons/cache-store.js';
import type { CacheConfig } from '../commons/config.js';
import { originRoute } from '../commons/origins.js';
import { cacheKey } from '../commons/paths.js';
import type { OriginValidators } from '../commons/repodata.js';
import type { Expectation } from '../commons/rescue-request.js';
import { ListingGuard, type RepositoryCheck } from './listing-guard.js';
import { type OriginAnswer, openOrigin } from './origin-get.js';
import { repositoryListing } from './repository-listing.js';
import type { RpmVerificationError } from './rpm-verifier.js';
import { DEFAULT_ORIGIN_IDLE_TIMEOUT_MS, isRpm, storeServed } from './store-served.js';
import { type ClaimOptions, claimDownload } from './upload-claim.js';
import { IncompleteDownloadError, OriginUnavailableError } from './upload-errors.js';
import { recordRefusal } from './upload-refusal.js';

export { DEFAULT_ORIGIN_IDLE_TIMEOUT_MS, IncompleteDownloadError, isRpm, OriginUnavailableError };

export type UploadOutcome =
  | 'stored'
  | 'already-cached'
  | 'origin-missing'
  | 'lost-race'
  | 'claimed-elsewhere'
  | 'corrupt'
  | 'rescued';

export interface UploadResult {
  readonly outcome: UploadOutcome;
  readonly originStatus?: number;
  readonly bytes?: number;
  /** Why a `corrupt` file was refused, or who holds the claim for `claimed-elsewhere`. */
  readonly reason?: string;
  /** Where the stored bytes came from: the origin URL, or where its redirects led. */
  readonly sourceUrl?: string;
  /** How an RPM stands against the current snapshot of its repository (checked when it lists the RPM). */
  readonly repositoryCheck?: RepositoryCheck;
  /** Who vouched for a `rescued` file's checksum (a snapshot of its repository, or the request). */
  readonly knownFrom?: string;
  /** The validators of the origin answer a `corrupt` file came in (its refusal is recorded for that copy). */
  readonly refusedCopy?: OriginValidators;
  /** Why a refusal could not be recorded (S3 failed): the next request may trigger the same download again. */
  readonly refusalNotRecorded?: string;
  /** The verifier's own error for a `corrupt` RPM, with its stack, for reporting (not part of the Lambda's answer). */
  readonly verificationError?: RpmVerificationError;
}

export interface UploadDependencies {
  readonly config: CacheConfig;
  readonly s3: S3Client;
  /** Bytes per multipart part; lib-storage's minimum (5 MiB) unless a test needs more parts. */
  readonly partSize?: number;
  /** How long the origin may take to send headers, and to send each chunk after that. */
  readonly originIdleTimeoutMs?: number;
  /** Claim the download first, so concurrent uploaders download it once (see upload-claim). */
  readonly claim?: ClaimOptions;
  /** What the request says the file is: a rescue may trust an archive with it (rescue/). */
  readonly expected?: Expectation;
  /**
   * What the current snapshot lists for the file (a mirror-queue upload carries it): the download is
   * checked against it rather than against a fresh read of the snapshot's primary.xml.
   */
  readonly listed?: Expectation;
}

/**
 * Streams `<origin>/<path>` into `cache/<path>` unless it is cached already
 * (or another uploader holds the claim on it). The object is committed only
 * after the whole body arrived with the announced length and, for an RPM,
 * matched its own size and digests; every failure aborts the upload, so no
 * partial object or unfinished multipart upload remains.
 *
 * Origin 404/410 and a corrupt file are outcomes (retrying cannot help);
 * other origin failures and S3 errors throw, for Lambda's retry.
 */
export const cacheFromOrigin = async (path: string, deps: UploadDependencies): Promise<UploadResult> => {
  const { config, s3, claim } = deps;
  const key = cacheKey(path);
  if (await isCached(s3, config.bucketName, key)) {
    return { outcome: 'already-cached' };
  }
  if (claim === undefined) return downloadOrRescue(path, deps);

  const claimed = await claimDownload(s3, config.bucketName, path, claim);
  if (!claimed.claimed) {
    return {
      outcome: 'claimed-elsewhere',
      reason: `held by ${claimed.heldBy} until ${new Date(claimed.expiresAt).toISOString()}`,
    };
  }
  try {
    // A claim released since our first look may have been released by an
    // uploader that just committed the file: look again before downloading.
    if (await isCached(s3, config.bucketName, key)) return { outcome: 'already-cached' };
    return await downloadOrRescue(path, deps);
  } finally {
    // Best effort: an unreleased claim expires with its owner's timeout.
    await claimed.release().catch(() => undefined);
  }
};

/** An expectation as a listing the guard checks a download against, vouched for by `listedBy`. */
export const listingOf = (expected: Expectation, listedBy: string) =>
  ({
    result: 'listed',
    repository: '',
    snapshot: '',
    entry: {
      algorithm: 'sha256',
      checksum: expected.sha256,
      ...(expected.size === undefined ? {} : { size: expected.size }),
    },
    listedBy,
  }) as const;

/** The origin's copy, or when the origin and its mirrors lost it, an archive's (RESCUE_URLS). */
const downloadOrRescue = async (path: string, deps: UploadDependencies): Promise<UploadResult> => {
  const downloaded = await download(path, deps);
  if (downloaded.outcome !== 'origin-missing' || deps.config.rescueTemplates.length === 0) return downloaded;
  // Loaded when first needed: rare, and kept off every cold start.
  const { rescueFromArchives } = await import('./rescue/rescue.js');
  const rescued = await rescueFromArchives(path, deps.expected, deps);
  if (rescued.outcome === 'not-rescued') return { ...downloaded, reason: `not rescued: ${rescued.reason}` };
  // The origin's status, not the archive's: the log line says the origin lost it.
  return {
    ...rescued,
    outcome: rescued.outcome === 'stored' ? 'rescued' : 'lost-race',
    ...(downloaded.originStatus === undefined ? {} : { originStatus: downloaded.originStatus }),
  };
};

/**
 * The first of the origin's URLs (the first, then its mirrors in order) that
 * serves the file. When none does: `missing` if every one answered 404/410,
 * else the first failure is thrown, for Lambda's retry.
 */
const openFirstServing = async (urls: readonly string[], idleTimeoutMs: number) => {
  let missing: OriginAnswer | undefined;
  let failure: unknown;
  for (const url of urls) {
    const request = new AbortController();
    try {
      const answer = await openOrigin(url, request, idleTimeoutMs);
      if (answer.kind !== 'missing') return { answer, request };
      missing ??= answer;
    } catch (error) {
      if (!(error instanceof OriginUnavailableError)) throw error;
      failure ??= error;
    }
  }
  if (failure !== undefined) throw failure;
  return { answer: missing ?? ({ kind: 'missing', status: 404 } as const), request: new AbortController() };
};

const download = async (path: string, deps: UploadDependencies): Promise<UploadResult> => {
  const { config, s3, originIdleTimeoutMs = DEFAULT_ORIGIN_IDLE_TIMEOUT_MS } = deps;
  const { answer: origin, request: originRequest } = await openFirstServing(
    originRoute(config, path).urls,
    originIdleTimeoutMs,
  );
  if (origin.kind === 'missing') return { outcome: 'origin-missing', originStatus: origin.status };
  if (origin.kind === 'encoded') {
    return recordedRefusal(path, deps, {
      outcome: 'corrupt',
      originStatus: origin.status,
      reason: `origin sent Content-Encoding: ${origin.encoding} though asked for identity: not the file clients download`,
      refusedCopy: origin.validators,
    });
  }

  const fileName = path.slice(path.lastIndexOf('/') + 1);
  // The RPM's own digests, then what its repository's snapshot lists (looked up while the bytes stream).
  const listingRequest = new AbortController();
  const { listed } = deps;
  const listingGuard = !isRpm(path)
    ? undefined
    : listed !== undefined
      ? new ListingGuard(Promise.resolve(listingOf(listed, 'the snapshot that queued it')))
      : new ListingGuard(repositoryListing(s3, config.bucketName, path, listingRequest.signal));
  const stored = await storeServed(path, { origin, originRequest, listingGuard, listingRequest, fileName }, deps);
  return stored.outcome === 'corrupt' ? recordedRefusal(path, deps, stored) : stored;
};

/**
 * A refused origin copy, recorded so the handler stops triggering its
 * download while the origin serves it (commons/upload-refusal.ts). Best
 * effort: a failed write is said in the result, not thrown, since Lambda's
 * retry would download the same copy again only to refuse it again.
 */
const recordedRefusal = async (
  path: string,
  deps: UploadDependencies,
  refused: UploadResult,
): Promise<UploadResult> => {
  const { config, s3 } = deps;
  if (config.uploadRefusalTtlMs === 0 || refused.refusedCopy === undefined) return refused;
  try {
    await recordRefusal(s3, config.bucketName, path, {
      reason: refused.reason ?? 'corrupt download',
      validators: refused.refusedCopy,
      ttlMs: config.uploadRefusalTtlMs,
    });
    return refused;
  } catch (error) {
    return { ...refused, refusalNotRecorded: error instanceof Error ? error.message : String(error) };
  }
};
