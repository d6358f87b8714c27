/**
 * AWS SDK clients, created once per container and captured by the tracer.
 * Endpoints come from the SDK's own AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_LAMBDA,
 * so tests and S3-compatible stores need no variables of ours.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import type { Environment } from './config.js';
import { tracer } from './powertools.js';

export interface ClientSettings {
  /** Time to open a connection. */
  readonly connectionTimeoutMs: number;
  /** Time for a whole request and response; a stalled endpoint fails instead of hanging. */
  readonly requestTimeoutMs: number;
  /** Attempts per Lambda call (the SDK's default is 3). */
  readonly lambdaMaxAttempts?: number;
}

/**
 * The handler answers within seconds and its calls carry their own deadline.
 * An Invoke is not retried: a throttled trigger costs one `fallback` and the
 * next request triggers again, while backing off would only reach the
 * deadline and hide the throttling behind a timeout.
 */
export const HANDLER_CLIENT_SETTINGS: ClientSettings = Object.freeze({
  connectionTimeoutMs: 1000,
  requestTimeoutMs: 3000,
  lambdaMaxAttempts: 1,
});
/** The uploader sends 5 MiB parts: give each request time, not forever. */
export const UPLOADER_CLIENT_SETTINGS: ClientSettings = Object.freeze({
  connectionTimeoutMs: 3000,
  requestTimeoutMs: 120_000,
});

const requestHandler = ({ connectionTimeoutMs, requestTimeoutMs }: ClientSettings) => ({
  connectionTimeout: connectionTimeoutMs,
  requestTimeout: requestTimeoutMs,
  throwOnRequestTimeout: true,
});

/** S3 client; path-style when an endpoint is set, since `bucket.localhost` does not resolve. */
export const createS3Client = (env: Environment, settings: ClientSettings): S3Client =>
  tracer.captureAWSv3Client(
    new S3Client({
      forcePathStyle: (env.AWS_ENDPOINT_URL_S3 ?? '') !== '',
      requestHandler: requestHandler(settings),
    }),
  );

export const createLambdaClient = (settings: ClientSettings): LambdaClient =>
  tracer.captureAWSv3Client(
    new LambdaClient({
      requestHandler: requestHandler(settings),
      ...(settings.lambdaMaxAttempts === undefined ? {} : { maxAttempts: settings.lambdaMaxAttempts }),
    }),
  );
