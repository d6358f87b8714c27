/**
 * The S3 client; path-style when an endpoint is set, since `bucket.localhost`
 * does not resolve.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { type CaptureClient, type ClientSettings, requestHandler } from './clients.js';
import type { Environment } from './config.js';

/**
 * Sends a path-style bucket-level request (ListObjectsV2) as `/bucket`, not
 * `/bucket/`. S3 takes both; the S3-compatible server the local stack embeds
 * (s3rver 5) signs `/bucket` and refuses `/bucket/` as SignatureDoesNotMatch.
 * At the build step, before the request is signed.
 */
export const withBareBucketPaths = (client: S3Client): S3Client => {
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { path?: unknown } | undefined;
      if (typeof request?.path === 'string' && /^\/[^/]+\/$/.test(request.path)) {
        request.path = request.path.slice(0, -1);
      }
      return next(args);
    },
    { step: 'build', name: 'bareBucketPaths' },
  );
  return client;
};

export const createS3Client = (
  env: Environment,
  settings: ClientSettings,
  capture: CaptureClient = (client) => client,
): S3Client => {
  const pathStyle = (env.AWS_ENDPOINT_URL_S3 ?? '') !== '';
  const client = new S3Client({ forcePathStyle: pathStyle, requestHandler: requestHandler(settings) });
  return capture(pathStyle ? withBareBucketPaths(client) : client);
};
