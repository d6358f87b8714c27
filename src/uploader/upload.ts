/**
 * The uploader's use case: copy one file from origin into the cache, whole or
 * not at all. Takes its clients and config as arguments.
 */
import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { isS3ConditionRefused } from '../commons/aws-errors.js';
import { isCached } from '../commons/cache-store.js';
import type { CacheConfig } from '../commons/config.js';
import { fetchFromOrigin } from '../commons/origin-fetch.js';
import { cacheKey, originUrl } from '../commons/paths.js';
import { RpmVerificationError, RpmVerifier } from './rpm-verifier.js';
import { type ClaimOptions, claimDownload } from './upload-claim.js';

export type UploadOutcome =
  | 'stored'
  | 'already-cached'
  | 'origin-missing'
  | 'lost-race'
  | 'claimed-elsewhere'
  | 'corrupt';

export interface UploadResult {
  readonly outcome: UploadOutcome;
  readonly originStatus?: number;
  readonly bytes?: number;
  /** Why a `corrupt` file was refused, or who holds the claim for `claimed-elsewhere`. */
  readonly reason?: string;
  /** Where the stored bytes came from: the origin URL, or where its redirects led. */
  readonly sourceUrl?: string;
}

/** The origin could not give the file now; Lambda's async retry may succeed. */
export class OriginUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'OriginUnavailableError';
  }
}

/** The body did not match what origin announced: nothing was stored. */
export class IncompleteDownloadError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'IncompleteDownloadError';
  }
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
}

export const DEFAULT_ORIGIN_IDLE_TIMEOUT_MS = 30_000;
const PART_SIZE = 5 * 1024 * 1024;
const QUEUE_SIZE = 4;

/**
 * Counts the bytes that pass and fails the stream at its end when they differ
 * from the announced length, or when no byte arrives for `idleTimeoutMs`.
 */
class LengthGuard extends Transform {
  bytes = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly expectedBytes: number | undefined,
    private readonly idleTimeoutMs: number,
  ) {
    super();
    this.armIdleTimer();
  }

  private armIdleTimer(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.destroy(
        new IncompleteDownloadError(`origin sent nothing for ${this.idleTimeoutMs} ms after ${this.bytes} bytes`),
      );
    }, this.idleTimeoutMs);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.expectedBytes !== undefined && this.bytes > this.expectedBytes) {
      callback(new IncompleteDownloadError(`origin sent more than the announced ${this.expectedBytes} bytes`));
      return;
    }
    this.armIdleTimer();
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    clearTimeout(this.idleTimer);
    if (this.expectedBytes !== undefined && this.bytes !== this.expectedBytes) {
      callback(new IncompleteDownloadError(`origin sent ${this.bytes} of the announced ${this.expectedBytes} bytes`));
      return;
    }
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.idleTimer);
    callback(error);
  }
}

const parseContentLength = (value: string | null): number | undefined => {
  if (value === null || !/^\d+$/.test(value)) return undefined;
  return Number(value);
};

/** Files checked against their own RPM digests; other extensions get the length check only. */
export const isRpm = (path: string): boolean => path.endsWith('.rpm');

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
  if (claim === undefined) return download(path, deps);

  const claimed = await claimDownload(s3, config.bucketName, path, claim);
  if (!claimed.claimed) {
    return {
      outcome: 'claimed-elsewhere',
      reason: `held by ${claimed.heldBy} until ${new Date(claimed.expiresAt).toISOString()}`,
    };
  }
  try {
    return await download(path, deps);
  } finally {
    // Best effort: an unreleased claim expires with its owner's timeout.
    await claimed.release().catch(() => undefined);
  }
};

const download = async (path: string, deps: UploadDependencies): Promise<UploadResult> => {
  const { config, s3, partSize = PART_SIZE, originIdleTimeoutMs = DEFAULT_ORIGIN_IDLE_TIMEOUT_MS } = deps;
  const url = originUrl(config.originBaseUrl, path);
  const originRequest = new AbortController();
  const headersTimer = setTimeout(() => originRequest.abort(), originIdleTimeoutMs);
  let response: Response;
  let sourceUrl: string;
  try {
    const answer = await fetchFromOrigin(url, { method: 'GET', signal: originRequest.signal });
    if ('refusedRedirect' in answer) {
      const { status, reason } = answer.refusedRedirect;
      throw new OriginUnavailableError(`GET ${url} answered ${status}: ${reason}`);
    }
    ({ response, url: sourceUrl } = answer);
  } catch (error) {
    if (error instanceof OriginUnavailableError) throw error;
    throw new OriginUnavailableError(`GET ${url} failed`, { cause: error });
  } finally {
    clearTimeout(headersTimer);
  }

  if (response.status === 404 || response.status === 410) {
    await response.body?.cancel();
    return { outcome: 'origin-missing', originStatus: response.status };
  }
  if (response.status !== 200 || response.body === null) {
    await response.body?.cancel();
    throw new OriginUnavailableError(`GET ${url} answered ${response.status}`);
  }
  const encoding = response.headers.get('content-encoding')?.trim().toLowerCase();
  if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
    // Asked for identity and sent something else: what fetch would decode is not
    // the file a client downloads (nor what Content-Length counts).
    await response.body.cancel();
    return {
      outcome: 'corrupt',
      originStatus: response.status,
      reason: `origin sent Content-Encoding: ${encoding} though asked for identity: not the file clients download`,
    };
  }

  const source = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  let originFailure: unknown;
  source.on('error', (error) => {
    originFailure = error;
  });
  const guard = new LengthGuard(parseContentLength(response.headers.get('content-length')), originIdleTimeoutMs);
  const verifier = isRpm(path) ? new RpmVerifier() : undefined;
  const body = verifier === undefined ? pipeline(source, guard, () => {}) : pipeline(source, guard, verifier, () => {});

  const upload = new Upload({
    client: s3,
    partSize,
    queueSize: QUEUE_SIZE,
    leavePartsOnError: false,
    params: {
      Bucket: config.bucketName,
      Key: cacheKey(path),
      Body: body,
      ContentType: isRpm(path) ? 'application/x-rpm' : 'application/octet-stream',
      // Two uploaders racing for one key: the first commit wins, the other gets 412/409.
      IfNoneMatch: '*',
    },
  });
  try {
    await upload.done();
  } catch (error) {
    originRequest.abort();
    body.destroy();
    const result = { originStatus: response.status, bytes: guard.bytes };
    if (isS3ConditionRefused(error)) return { outcome: 'lost-race', ...result };
    if (error instanceof RpmVerificationError) return { outcome: 'corrupt', reason: error.message, ...result };
    if (originFailure !== undefined && !(error instanceof IncompleteDownloadError)) {
      throw new IncompleteDownloadError(`origin body failed after ${guard.bytes} bytes`, { cause: originFailure });
    }
    throw error;
  }
  return { outcome: 'stored', originStatus: response.status, bytes: guard.bytes, sourceUrl };
};
