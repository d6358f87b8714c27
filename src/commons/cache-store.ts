/**
 * The S3 side of the cache: whether a copy exists and how a client reaches it.
 */
import { GetObjectCommand, HeadObjectCommand, NotFound, type S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

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
    if (error instanceof NotFound) return false;
    if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404) return false;
    throw error;
  }
};

/** A presigned GET URL of `key`, valid `expiresIn` seconds. */
export const presignedGetUrl = (s3: S3Client, bucket: string, key: string, expiresIn: number): Promise<string> =>
  getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn });
