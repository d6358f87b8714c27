/**
 * Commits a stream to S3 once: a streaming multipart upload (lib-storage,
 * 5 MiB parts, 4 in flight: memory flat in file size) made conditional, so of
 * two uploaders of one key the first commit wins. Every failure aborts the
 * multipart upload: no partial object and no unfinished upload stay behind.
 */
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { isS3ConditionalConflict, isS3ConditionRefused } from '../commons/aws-errors.js';
import { ConditionalWriteConflictError } from './upload-errors.js';

const PART_SIZE = 5 * 1024 * 1024;
/** Parts in flight; 2 doubles the wall time against a latency-bound S3. */
const QUEUE_SIZE = 4;

export interface StoreRequest {
  readonly bucket: string;
  readonly key: string;
  readonly body: Readable;
  readonly contentType: string;
  /** Bytes per part; lib-storage's minimum (5 MiB) unless a test needs more parts. */
  readonly partSize?: number;
  /** Object tags, URL-encoded (`key=value&...`), for the bucket's lifecycle rules. */
  readonly tagging?: string;
}

/**
 * Stores `body` under `key` unless the key exists by the time of the commit:
 * `lost-race` then (S3 412). A 409 (a conflicting write in flight, nothing
 * decided) is a ConditionalWriteConflictError, for a retry; any other failure,
 * the body's included, is thrown as it is.
 */
export const putOnce = async (s3: S3Client, request: StoreRequest): Promise<'stored' | 'lost-race'> => {
  const upload = new Upload({
    client: s3,
    partSize: request.partSize ?? PART_SIZE,
    queueSize: QUEUE_SIZE,
    leavePartsOnError: false,
    params: {
      Bucket: request.bucket,
      Key: request.key,
      Body: request.body,
      ContentType: request.contentType,
      IfNoneMatch: '*',
      ...(request.tagging === undefined ? {} : { Tagging: request.tagging }),
    },
  });
  try {
    await upload.done();
    return 'stored';
  } catch (error) {
    if (isS3ConditionRefused(error)) return 'lost-race';
    if (isS3ConditionalConflict(error)) {
      throw new ConditionalWriteConflictError(`a conflicting write to ${request.key} was in flight (S3 409)`, {
        cause: error,
      });
    }
    throw error;
  }
};
