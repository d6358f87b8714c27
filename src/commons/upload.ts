/**
 * The uploader's use case: copy one file from origin into the cache, whole or
 * not at all. Takes its clients and config as arguments.
 */
import { Readable, Transform, type TransformCallback } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { type S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { isCached } from './cache-store.js';
import type { CacheConfig } from './config.js';
import { cacheKey, originUrl } from './paths.js';

export type UploadOutcome = 'stored' | 'already-cached' | 'origin-missing' | 'lost-race';

export interface UploadResult {
  readonly outcome: UploadOutcome;
  readonly originStatus?: number;
  readonly bytes?: number;
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

/** S3 refused the conditional write because the key exists or is being written. */
const isLostRace = (error: unknown): boolean =>
  error instanceof S3ServiceException &&
  (error.$metadata.httpStatusCode === 412 || error.$metadata.httpStatusCode === 409);

/**
 * Streams `<origin>/<path>` into `cache/<path>` unless it is cached already.
 * The object is committed only after the whole body arrived with the
 * announced length; every failure aborts the upload, so no partial object or
 * unfinished multipart upload remains. Origin 404/410 is a normal outcome
 * (nothing to cache, no retry); other origin failures throw for a retry.
 */
export const cacheFromOrigin = async (path: string, deps: UploadDependencies): Promise<UploadResult> => {
  const { config, s3, partSize = PART_SIZE, originIdleTimeoutMs = DEFAULT_ORIGIN_IDLE_TIMEOUT_MS } = deps;
  const key = cacheKey(path);
  if (await isCached(s3, config.bucketName, key)) {
    return { outcome: 'already-cached' };
  }

  const url = originUrl(config.originBaseUrl, path);
  const download = new AbortController();
  const headersTimer = setTimeout(() => download.abort(), originIdleTimeoutMs);
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'follow', signal: download.signal });
  } catch (error) {
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

  const guard = new LengthGuard(parseContentLength(response.headers.get('content-length')), originIdleTimeoutMs);
  const source = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  source.on('error', (error) => guard.destroy(new IncompleteDownloadError('origin body failed', { cause: error })));
  guard.on('error', () => source.destroy());
  source.pipe(guard);

  const upload = new Upload({
    client: s3,
    partSize,
    queueSize: QUEUE_SIZE,
    leavePartsOnError: false,
    params: {
      Bucket: config.bucketName,
      Key: key,
      Body: guard,
      ContentType: 'application/octet-stream',
      // Two uploaders racing for one key: the first commit wins, the other gets 412/409.
      IfNoneMatch: '*',
    },
  });
  try {
    await upload.done();
  } catch (error) {
    download.abort();
    guard.destroy();
    if (isLostRace(error)) {
      return { outcome: 'lost-race', originStatus: response.status, bytes: guard.bytes };
    }
    throw error;
  }
  return { outcome: 'stored', originStatus: response.status, bytes: guard.bytes };
};
