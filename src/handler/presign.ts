/**
 * How a client reaches a stored copy: a presigned URL, signed with the
 * handler's own credentials for the method the client used. S3 checks the
 * method: a URL signed for GET answers a HEAD with 403 (`curl -I`, zypper).
 */
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

export type ClientMethod = 'GET' | 'HEAD';

/** A presigned URL of `key` for `method`, valid `expiresIn` seconds. */
export const presignedUrl = (
  s3: S3Client,
  { bucket, key, method }: { readonly bucket: string; readonly key: string; readonly method: ClientMethod },
  expiresIn: number,
): Promise<string> =>
  getSignedUrl(
    s3,
    method === 'HEAD'
      ? new HeadObjectCommand({ Bucket: bucket, Key: key })
      : new GetObjectCommand({ Bucket: bucket, Key: key }),
    { expiresIn },
  );
