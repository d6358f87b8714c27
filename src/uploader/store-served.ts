/**
 * A served body on its way into `cache/<path>`: through the length guard,
 * an RPM's own digests and the listing it must match, committed whole or
 * refused with nothing stored. Shared by the origin's download and a
 * rescue's (rescue/).
 */
import { cacheKey } from '../commons/paths.js';
import { validatorsOf } from '../commons/repodata.js';
import type { ListingGuard } from './listing-guard.js';
import { checkedBody, type OriginAnswer } from './origin-get.js';
import { RpmVerificationError, RpmVerifier } from './rpm-verifier.js';
import { putOnce } from './store-once.js';
import type { UploadDependencies, UploadResult } from './upload.js';
import { IncompleteDownloadError } from './upload-errors.js';

export const DEFAULT_ORIGIN_IDLE_TIMEOUT_MS = 30_000;

/** Files checked against their own RPM digests; other extensions get the length check only. */
export const isRpm = (path: string): boolean => path.endsWith('.rpm');

/** A served body on its way into the cache, with the checks it must pass. */
export interface ServedFile {
  readonly origin: Extract<OriginAnswer, { kind: 'body' }>;
  /** Aborts the GET of the body. */
  readonly originRequest: AbortController;
  /** The size and checksum the file must have (its listing, or what a rescue knows), checked at the end. */
  readonly listingGuard: ListingGuard | undefined;
  /** Aborts the listing's lookup, if it still runs. */
  readonly listingRequest?: AbortController;
  readonly fileName: string;
}

/**
 * Streams a served body into `cache/<path>` through the length guard and,
 * for an RPM, its own digests and `listingGuard`: committed whole, or
 * refused (`corrupt`) with nothing stored.
 */
export const storeServed = async (
  path: string,
  { origin, originRequest, listingGuard, listingRequest, fileName }: ServedFile,
  deps: UploadDependencies,
): Promise<UploadResult> => {
  const { config, s3, partSize, originIdleTimeoutMs = DEFAULT_ORIGIN_IDLE_TIMEOUT_MS } = deps;
  const originStatus = origin.response.status;
  const checks = [
    ...(isRpm(path) ? [new RpmVerifier(fileName)] : []),
    ...(listingGuard === undefined ? [] : [listingGuard]),
  ];
  const { body, guard, originFailure } = checkedBody(origin.response, originIdleTimeoutMs, checks);
  const checked = () => (listingGuard?.check === undefined ? {} : { repositoryCheck: listingGuard.check });
  const stop = () => {
    originRequest.abort();
    listingRequest?.abort();
    body.destroy();
  };
  try {
    const committed = await putOnce(s3, {
      bucket: config.bucketName,
      key: cacheKey(path),
      body,
      contentType: isRpm(path) ? 'application/x-rpm' : 'application/octet-stream',
      ...(partSize === undefined ? {} : { partSize }),
    });
    if (committed === 'lost-race') {
      stop();
      return { outcome: 'lost-race', originStatus, bytes: guard.bytes, ...checked() };
    }
    return { outcome: 'stored', originStatus, bytes: guard.bytes, sourceUrl: origin.sourceUrl, ...checked() };
  } catch (error) {
    stop();
    if (error instanceof RpmVerificationError) {
      return {
        outcome: 'corrupt',
        reason: error.message,
        verificationError: error,
        originStatus,
        bytes: guard.bytes,
        refusedCopy: validatorsOf(origin.response.headers),
      };
    }
    if (originFailure() !== undefined && !(error instanceof IncompleteDownloadError)) {
      throw new IncompleteDownloadError(`origin body failed after ${guard.bytes} bytes`, { cause: originFailure() });
    }
    throw error;
  }
};
