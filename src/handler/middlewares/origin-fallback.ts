/**
 * The cache is never in the critical path: any error after the path is
 * validated (S3, Lambda, anything) becomes a 302 to origin, logged and
 * reported. Client errors (4xx) are left to the HTTP error handler.
 */
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { awsErrorFacts } from '../../commons/aws-errors.js';
import type { CachePathContext } from '../../commons/cache-path.js';
import { type ErrorReporter, reportSafely } from '../../commons/error-reporting.js';
import { countFallback, countRequest } from '../../commons/metrics.js';
import { originUrl } from '../../commons/paths.js';
import { logger } from '../../commons/powertools.js';
import { redirectResponse } from '../responses.js';

export interface OriginFallbackOptions {
  readonly originBaseUrl: string;
  readonly reportError: ErrorReporter;
}

const isClientError = (error: unknown): boolean => {
  if (typeof error !== 'object' || error === null || !('statusCode' in error)) return false;
  const { statusCode } = error;
  return typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500 && 'expose' in error;
};

export const originFallback = ({
  originBaseUrl,
  reportError,
}: OriginFallbackOptions): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, CachePathContext> => {
  const originFallbackOnError: NonNullable<
    MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, CachePathContext>['onError']
  > = async (request) => {
    if (request.response !== undefined && request.response !== null) return;
    const { error } = request;
    const path = request.context.cachePath;
    if (isClientError(error) || path === undefined) return;

    logger.error('request', { outcome: 'fallback', path, error, ...awsErrorFacts(error) });
    countRequest('fallback');
    countFallback(error);
    await reportSafely(reportError, error, { path });
    request.response = redirectResponse(originUrl(originBaseUrl, path), 'fallback');
  };
  return { onError: originFallbackOnError };
};
