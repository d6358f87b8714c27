/** The s3rver the local stack embeds, started plainly (no conditional-write proxy) by tests that need a second store. */
import { S3Client } from '@aws-sdk/client-s3';
import { withBareBucketPaths } from '../../src/commons/s3-client.js';
import { S3RVER_CREDENTIALS } from '../../src/local/s3-server.js';

export { S3RVER_CREDENTIALS, startS3rver } from '../../src/local/s3-server.js';

/** A client of a local S3-compatible store at `endpoint`, as the Lambdas' client is set up for one. */
export const localStoreClient = (
  endpoint: string,
  credentials: { readonly accessKeyId: string; readonly secretAccessKey: string } = S3RVER_CREDENTIALS,
): S3Client =>
  withBareBucketPaths(
    new S3Client({
      endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      requestChecksumCalculation: 'WHEN_REQUIRED',
      credentials: { ...credentials },
    }),
  );
