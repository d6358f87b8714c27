/**
 * AWS SDK clients, created once per container and captured by the tracer.
 * Endpoints come from the SDK's own AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_LAMBDA,
 * so tests and S3-compatible stores need no variables of ours.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import type { Environment } from './config.js';
import { tracer } from './powertools.js';

/** S3 client; path-style when an endpoint is set, since `bucket.localhost` does not resolve. */
export const createS3Client = (env: Environment): S3Client =>
  tracer.captureAWSv3Client(new S3Client({ forcePathStyle: (env.AWS_ENDPOINT_URL_S3 ?? '') !== '' }));

export const createLambdaClient = (): LambdaClient => tracer.captureAWSv3Client(new LambdaClient({}));
