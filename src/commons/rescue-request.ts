/**
 * What a client may tell the cache about a file it pins, so a file the origin
 * lost can be rescued from an archive (RESCUE_URLS): its SHA-256, size and
 * source package, sent as headers (`rpm-cache warm` sends them from the
 * lockfile) and passed on to the uploader. And what the uploader leaves
 * behind when a rescue fails, so the handler can say so instead of trying
 * again with every request.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { readObjectText } from './cache-store.js';
import { isJsonObject, parseJsonObject } from './json-object.js';
import { recordKey } from './paths.js';

/** The headers a client sends; their names in lower case, as both front doors give them. */
export const EXPECT_HEADERS = Object.freeze({
  sha256: 'x-cache-expect-sha256',
  size: 'x-cache-expect-size',
  sourceRpm: 'x-cache-source-rpm',
});

/** What the client says the file is. */
export interface Expectation {
  /** Lowercase hex. */
  readonly sha256: string;
  readonly size?: number;
  /** The source package's file name (`bash-5.2-1.fc44.src.rpm`), as a lockfile's `sourcerpm` gives it. */
  readonly sourceRpm?: string;
}

const SHA256 = /^[0-9a-f]{64}$/;
/** A source RPM's file name as rpm makes it: nothing that could leave a URL path segment or a log line. */
export const SOURCE_RPM = /^[A-Za-z0-9._+~^-]{1,250}\.(?:no)?src\.rpm$/;

/**
 * The expectation in `value` (the uploader event's `expect`), or why it is
 * not one: a checksum the cache would trust must be exactly a SHA-256.
 */
export const parseExpectation = (value: unknown): Expectation | string => {
  if (!isJsonObject(value)) return 'expect is not an object';
  const { sha256, size, sourceRpm } = value;
  if (typeof sha256 !== 'string' || !SHA256.test(sha256)) return 'expect.sha256 is not 64 lowercase hex digits';
  if (size !== undefined && !(typeof size === 'number' && Number.isSafeInteger(size) && size >= 0)) {
    return 'expect.size is not a whole number of bytes';
  }
  if (sourceRpm !== undefined && !(typeof sourceRpm === 'string' && SOURCE_RPM.test(sourceRpm))) {
    return 'expect.sourceRpm is not a source RPM file name';
  }
  return {
    sha256,
    ...(size === undefined ? {} : { size }),
    ...(sourceRpm === undefined ? {} : { sourceRpm }),
  };
};

/**
 * The expectation a request's headers carry, or undefined (none, or not a
 * valid one: a request is answered the same either way, only a rescue needs it).
 */
export const expectationFromHeaders = (
  headers: Readonly<Record<string, string | undefined>> | undefined,
): Expectation | undefined => {
  const header = (name: string) => headers?.[name]?.trim();
  const sha256 = header(EXPECT_HEADERS.sha256)?.toLowerCase();
  if (sha256 === undefined) return undefined;
  const size = header(EXPECT_HEADERS.size);
  const parsed = parseExpectation({
    sha256,
    ...(size === undefined ? {} : { size: /^\d{1,15}$/.test(size) ? Number(size) : size }),
    ...(header(EXPECT_HEADERS.sourceRpm) === undefined ? {} : { sourceRpm: header(EXPECT_HEADERS.sourceRpm) }),
  });
  return typeof parsed === 'string' ? undefined : parsed;
};

/** Where a failed rescue of `path` is recorded: `rescues/<path>.json` (long paths: {@link recordKey}). */
export const rescueRecordKey = (path: string): string => recordKey('rescues', path);

/**
 * A failed rescue is not tried again for the same file for this long: every
 * archive was asked and none had the bytes, and the next hour will not
 * change that (a fixed archive, or a request with another checksum, will).
 */
export const RESCUE_RETRY_MS = 60 * 60 * 1000;

/** When an archive could not be asked (5xx, unreachable, a broken body), the next request may try again this soon. */
export const RESCUE_RETRY_AFTER_TROUBLE_MS = 5 * 60 * 1000;

/** What the uploader records when no archive could supply the file. */
export interface RescueRecord {
  readonly outcome: 'failed';
  /** ISO time of the attempt. */
  readonly at: string;
  /** The checksum the rescue looked for, when the cache knew one. */
  readonly sha256?: string;
  /**
   * That checksum came from a snapshot of the file's repository, which wins over any request's:
   * the record answers a request naming other bytes too, since the cache would look for these again.
   */
  readonly fromSnapshot?: true;
  /** An archive could not be asked (not: had other bytes or none): the record answers for minutes only. */
  readonly transient?: true;
  /** One line, for the `X-Cache-Rescue-Reason` header and `warm`'s report. */
  readonly reason: string;
}

/** The record of a failed rescue of `path`, if there is one (whether it still answers is `recordStillAnswers`'). */
export const readRescueRecord = async (
  s3: S3Client,
  { bucket, path, abortSignal }: { bucket: string; path: string; abortSignal?: AbortSignal },
): Promise<RescueRecord | undefined> => {
  const text = await readObjectText(s3, bucket, rescueRecordKey(path), abortSignal);
  return text === undefined ? undefined : parseRescueRecord(text);
};

export const parseRescueRecord = (text: string): RescueRecord | undefined => {
  const value = parseJsonObject(text);
  if (value === undefined || value.outcome !== 'failed') return undefined;
  const { at, sha256, reason, fromSnapshot, transient } = value;
  if (typeof at !== 'string' || Number.isNaN(Date.parse(at)) || typeof reason !== 'string') return undefined;
  if (sha256 !== undefined && !(typeof sha256 === 'string' && SHA256.test(sha256))) return undefined;
  return {
    outcome: 'failed',
    at,
    reason,
    ...(sha256 === undefined ? {} : { sha256, ...(fromSnapshot === true ? { fromSnapshot } : {}) }),
    ...(transient === true ? { transient } : {}),
  };
};

/** How long after its attempt a failed rescue is tried again (for the same bytes). */
export const retryAfterMs = (record: RescueRecord): number =>
  record.transient === true ? RESCUE_RETRY_AFTER_TROUBLE_MS : RESCUE_RETRY_MS;

/**
 * Whether `record` still answers for a rescue asked with `expected`: recent,
 * and about the same bytes (a request naming bytes, other ones or the first
 * ones the cache learns of, is tried anew), or about the bytes a snapshot
 * listed, which the cache looks for whatever a request names.
 */
export const recordStillAnswers = (
  record: RescueRecord | undefined,
  expected: Expectation | undefined,
  now: number,
): record is RescueRecord =>
  record !== undefined &&
  now - Date.parse(record.at) < retryAfterMs(record) &&
  (expected === undefined || record.sha256 === expected.sha256 || record.fromSnapshot === true);
