/**
 * How a client reaches a cached copy: a presigned GET URL, signed with the
 * handler's own credentials.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

/** A presigned GET URL of `key`, valid `expiresIn` seconds. */
export const presignedGetUrl = (s3: S3Client, bucket: string, key: string, expiresIn: number): Promise<string> =>
  getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn });
