/**
 * An upload that fails is logged and reported, then rethrown so Lambda's
 * async retry (at most twice) gets another chance at a transient failure.
 */
import { awsErrorFacts } from '../../commons/aws-errors.js';
import { type ErrorReporter, reportSafely } from '../../commons/error-reporting.js';
import { countUpload } from '../../commons/metrics.js';
import { logger } from '../../commons/powertools.js';
import type { UploaderMiddleware, UploaderOnError } from './chain.js';

export interface UploadFailureOptions {
  /** Reports each failed upload (Sentry, or nothing). */
  readonly reportError: ErrorReporter;
}

/**
 * Logs, counts and reports a failed upload, then lets the error through to
 * Lambda, whose async retry may succeed.
 *
 * @example
 * middy<unknown, UploaderResponse, Error, UploaderContext>()
 *   .use(uploadFailure({ reportError }))
 *   .use(uploaderEvent({ cacheExtensions: config.cacheExtensions }))
 *   .handler(uploadRequest);
 */
export const uploadFailure = ({ reportError }: UploadFailureOptions): UploaderMiddleware => {
  const uploadFailureOnError: UploaderOnError = async (request) => {
    const path = request.context.cachePath;
    countUpload('failed');
    logger.error('upload', { outcome: 'failed', path, error: request.error, ...awsErrorFacts(request.error) });
    await reportSafely(reportError, request.error, { path });
  };
  return { onError: uploadFailureOnError };
};
