/**
 * An upload that fails is logged and reported, then rethrown so Lambda's
 * async retry (at most twice) gets another chance at a transient failure.
 */
import type { MiddlewareObj } from '@middy/core';
import { awsErrorFacts } from '../../commons/aws-errors.js';
import type { CachePathContext } from '../../commons/cache-path.js';
import { type ErrorReporter, reportSafely } from '../../commons/error-reporting.js';
import { countUpload } from '../../commons/metrics.js';
import { logger } from '../../commons/powertools.js';

export const uploadFailure = ({
  reportError,
}: {
  readonly reportError: ErrorReporter;
}): MiddlewareObj<unknown, unknown, Error, CachePathContext> => {
  const uploadFailureOnError: NonNullable<MiddlewareObj<unknown, unknown, Error, CachePathContext>['onError']> = async (
    request,
  ) => {
    const path = request.context.cachePath;
    countUpload('failed');
    logger.error('upload', { outcome: 'failed', path, error: request.error, ...awsErrorFacts(request.error) });
    await reportSafely(reportError, request.error, { path });
  };
  return { onError: uploadFailureOnError };
};
