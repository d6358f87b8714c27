/**
 * The S3 side of the cache: whether a copy exists, and the text of a small
 * object (a manifest, a record). (How a client reaches a copy, the presigned
 * URL, is the handler's alone: presign.ts.)
 */
import { GetObjectCommand, HeadObjectCommand, NotFound, type S3Client } from '@aws-sdk/client-s3';
import { isS3NotFound } from './aws-errors.js';

/**
 * Whether `key` exists in `bucket`. Only a 404 means "not cached"; any other
 * failure (403, throttling, network) is thrown, so the caller falls back to
 * origin instead of acting on a guess.
 */
export const isCached = async (
  s3: S3Client,
  bucket: string,
  key: string,
  abortSignal?: AbortSignal,
): Promise<boolean> => {
  try {
    await s3.send(
      new HeadObjectCommand({ Bucket: bucket, Key: key }),
      abortSignal === undefined ? {} : { abortSignal },
    );
    return true;
  } catch (error) {
    if (error instanceof NotFound || isS3NotFound(error)) return false;
    throw error;
  }
};

/** An object's text, or undefined when there is none (never written, or deleted by the lifecycle meanwhile). */
export const readObjectText = async (
  s3: S3Client,
  bucket: string,
  key: string,
  abortSignal: AbortSignal | undefined,
): Promise<string | undefined> => {
  try {
    const object = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: key }),
      abortSignal === undefined ? {} : { abortSignal },
    );
    return (await object.Body?.transformToString()) ?? '';
  } catch (error) {
    if (isS3NotFound(error)) return undefined;
    throw error;
  }
};
