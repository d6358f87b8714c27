/**
 * The S3 client; path-style when an endpoint is set, since `bucket.localhost`
 * does not resolve.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { type CaptureClient, type ClientSettings, requestHandler } from './clients.js';
import type { Environment } from './config.js';

export const createS3Client = (
  env: Environment,
  settings: ClientSettings,
  capture: CaptureClient = (client) => client,
): S3Client =>
  capture(
    new S3Client({
      forcePathStyle: (env.AWS_ENDPOINT_URL_S3 ?? '') !== '',
      requestHandler: requestHandler(settings),
    }),
  );
