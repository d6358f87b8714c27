/**
 * What the uploader leaves behind when it refuses the origin's copy of a file
 * (corrupt, an impostor, not an RPM, compressed against our asking): the
 * reason, and the validators of the copy it refused. While the origin serves
 * that same copy the handler does not invoke the uploader again for it (the
 * download would be refused again) and says so (`X-Cache-Upload: refused`);
 * a changed copy is tried at once, and the record ends by itself
 * (`UPLOAD_REFUSAL_TTL`), so a mirror that fixes its copy heals the cache.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { readObjectText } from './cache-store.js';
import { isJsonObject, parseJsonObject } from './json-object.js';
import { recordKey } from './paths.js';
import { type OriginValidators, strongEtag } from './repodata.js';

/** Where the refusal of `path`'s origin copy is recorded: `refusals/<path>.json`. */
export const refusalRecordKey = (path: string): string => recordKey('refusals', path);

export interface RefusalRecord {
  readonly outcome: 'refused';
  /** ISO time of the refusal. */
  readonly at: string;
  /** ISO time after which the record no longer answers: the same copy is tried again. */
  readonly until: string;
  /** One line, for `X-Cache-Upload-Reason` and `warm`'s report. */
  readonly reason: string;
  /** The refused answer's ETag, Last-Modified and Content-Length. */
  readonly validators: OriginValidators;
}

const isTime = (value: unknown): value is string => typeof value === 'string' && !Number.isNaN(Date.parse(value));

const parseValidators = (value: unknown): OriginValidators | undefined => {
  if (!isJsonObject(value)) return undefined;
  const { etag, lastModified, contentLength } = value;
  if (etag !== undefined && typeof etag !== 'string') return undefined;
  if (lastModified !== undefined && typeof lastModified !== 'string') return undefined;
  if (contentLength !== undefined && !(typeof contentLength === 'number' && Number.isSafeInteger(contentLength))) {
    return undefined;
  }
  return {
    ...(etag === undefined ? {} : { etag }),
    ...(lastModified === undefined ? {} : { lastModified }),
    ...(contentLength === undefined ? {} : { contentLength }),
  };
};

/** The record in `text`, or undefined when it is not one (a record that cannot be read answers nothing). */
export const parseRefusalRecord = (text: string): RefusalRecord | undefined => {
  const value = parseJsonObject(text);
  if (value === undefined || value.outcome !== 'refused') return undefined;
  const { at, until, reason } = value;
  const validators = parseValidators(value.validators);
  if (!isTime(at) || !isTime(until) || typeof reason !== 'string' || validators === undefined) return undefined;
  return { outcome: 'refused', at, until, reason, validators };
};

/** The refusal recorded for `path`, if there is one (whether it still answers is {@link refusalAnswers}'). */
export const readRefusalRecord = async (
  s3: S3Client,
  { bucket, path, abortSignal }: { bucket: string; path: string; abortSignal?: AbortSignal },
): Promise<RefusalRecord | undefined> => {
  const text = await readObjectText(s3, bucket, refusalRecordKey(path), abortSignal);
  return text === undefined ? undefined : parseRefusalRecord(text);
};

/**
 * Whether the origin serves the copy that was refused: the same ETag when both
 * have one, else the same Last-Modified and length, else the same length.
 * When neither answer tells anything, they count as the same copy: the
 * record's end bounds how long that guess stands.
 */
export const sameOriginCopy = (refused: OriginValidators, now: OriginValidators): boolean => {
  if (refused.etag !== undefined && now.etag !== undefined) return strongEtag(refused.etag) === strongEtag(now.etag);
  if (refused.lastModified !== undefined || now.lastModified !== undefined) {
    return refused.lastModified === now.lastModified && refused.contentLength === now.contentLength;
  }
  return refused.contentLength === now.contentLength;
};

/**
 * When `record` stops answering: its own end, but never later than `ttlMs`
 * (UPLOAD_REFUSAL_TTL as configured now) after the refusal, so a record written
 * under a longer setting, or naming an end far away, cannot outlast the
 * operator's choice.
 */
export const refusalEnd = (record: RefusalRecord, ttlMs = Number.POSITIVE_INFINITY): number =>
  Math.min(Date.parse(record.until), Date.parse(record.at) + ttlMs);

/** Whether `record` answers for the origin's copy now (`validators`, from its HEAD): not ended, and the same copy. */
export const refusalAnswers = (
  record: RefusalRecord | undefined,
  validators: OriginValidators | undefined,
  now: number,
  ttlMs?: number,
): boolean =>
  record !== undefined && now < refusalEnd(record, ttlMs) && sameOriginCopy(record.validators, validators ?? {});

/** The record as `X-Cache-Upload-Reason` says it: when, until when, why. */
export const refusalReason = (record: RefusalRecord, ttlMs?: number): string =>
  `refused at ${record.at}, tried again after ${new Date(refusalEnd(record, ttlMs)).toISOString()} or once the origin's copy changes: ${record.reason}`;
