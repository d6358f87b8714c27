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
