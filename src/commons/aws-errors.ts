import { S3ServiceException } from '@aws-sdk/client-s3';

/** The HTTP status an S3 error came with. */
const s3ErrorStatus = (error: unknown): number | undefined =>
  error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;

/** S3 answered 404: the key does not exist. */
export const isS3NotFound = (error: unknown): boolean => s3ErrorStatus(error) === 404;

/**
 * S3 refused a conditional write because the condition failed (412): the key
 * exists, or its ETag changed. A lost race, final.
 */
export const isS3ConditionRefused = (error: unknown): boolean => s3ErrorStatus(error) === 412;

/**
 * S3 answered 409 ConditionalRequestConflict: another conditional operation on
 * the key was in flight. Nothing was decided; AWS says to retry the write
 * (a multipart upload: start it again).
 */
export const isS3ConditionalConflict = (error: unknown): boolean => s3ErrorStatus(error) === 409;

/**
 * What a log line should say about an AWS SDK error beyond its name: an S3
 * HEAD error has no body, so its name is often just "Unknown" and only the
 * HTTP status tells a 403 from a 503.
 */
export interface AwsErrorFacts {
  readonly errorStatus?: number;
  readonly awsRequestId?: string;
}

export const awsErrorFacts = (error: unknown): AwsErrorFacts => {
  if (typeof error !== 'object' || error === null || !('$metadata' in error)) return {};
  const metadata = error.$metadata;
  if (typeof metadata !== 'object' || metadata === null) return {};
  const { httpStatusCode, requestId } = metadata as { httpStatusCode?: unknown; requestId?: unknown };
  return {
    ...(typeof httpStatusCode === 'number' ? { errorStatus: httpStatusCode } : {}),
    ...(typeof requestId === 'string' ? { awsRequestId: requestId } : {}),
  };
};
