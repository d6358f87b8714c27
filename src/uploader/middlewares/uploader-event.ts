/**
 * First link of the uploader's chain. An event that is not `{ "path": "<a
 * valid path to a cacheable file or a repodata/repomd.xml>" }` (with, for a
 * file, an optional valid `expect`: what the request said the file is) is logged as an error and finishes the
 * invocation successfully: retrying a malformed event can never succeed.
 */
import { cleanupMiddlewares } from '@aws-lambda-powertools/commons';
import { loggablePath } from '../../commons/loggable-path.js';
import { countUpload } from '../../commons/metrics.js';
import { cacheKeyProblem, checkPath, isCacheable } from '../../commons/paths.js';
import { logger } from '../../commons/powertools.js';
import { isSnapshotRequest } from '../../commons/repodata.js';
import { type Expectation, parseExpectation } from '../../commons/rescue-request.js';
import type { RejectedEvent, UploaderBefore, UploaderMiddleware } from './chain.js';

export type { RejectedEvent, UploaderContext, UploaderResponse } from './chain.js';

export interface UploaderEventOptions {
  /** The suffixes of cacheable files (CACHE_EXTENSIONS): any other path is rejected. */
  readonly cacheExtensions: readonly string[];
}

export const eventPath = (event: unknown): unknown =>
  typeof event === 'object' && event !== null && !Array.isArray(event) && 'path' in event ? event.path : undefined;

/** The handler's request id, when the event carries a plausible one (it only labels log lines). */
export const eventTrigger = (event: unknown): string | undefined => {
  if (typeof event !== 'object' || event === null || !('triggeredBy' in event)) return undefined;
  const { triggeredBy } = event;
  return typeof triggeredBy === 'string' && /^[\w.:-]{1,128}$/.test(triggeredBy) ? triggeredBy : undefined;
};

export const rejectionReason = (event: unknown, cacheExtensions: readonly string[]): string | undefined => {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    return 'event is not an object of the shape {"path": "..."}';
  }
  const path = eventPath(event);
  if (typeof path !== 'string') return 'event.path is missing or not a string';
  const check = checkPath(path);
  if (!check.valid) return check.reason;
  if (!isCacheable(path, cacheExtensions) && !isSnapshotRequest(path)) {
    return 'path is neither a cacheable file (CACHE_EXTENSIONS) nor a repodata/repomd.xml';
  }
  const problem = cacheKeyProblem(path);
  if (problem !== undefined) return problem;
  if ('expect' in event) {
    const expected = parseExpectation(event.expect);
    if (typeof expected === 'string') return expected;
  }
  return undefined;
};

/** What the event says the file is (validated by rejectionReason first). */
export const eventExpectation = (event: unknown): Expectation | undefined => {
  if (typeof event !== 'object' || event === null || !('expect' in event)) return undefined;
  const expected = parseExpectation(event.expect);
  return typeof expected === 'string' ? undefined : expected;
};

/**
 * Validates the async-invoke event and puts its path in the context as
 * `cachePath`; a malformed event ends the invocation as `rejected`.
 *
 * @example
 * middy<unknown, UploaderResponse, Error, UploaderContext>()
 *   .use(uploaderEvent({ cacheExtensions: config.cacheExtensions }))
 *   .handler(async (_event, context) => cacheFromOrigin(validatedPath(context), deps));
 */
export const uploaderEvent = ({ cacheExtensions }: UploaderEventOptions): UploaderMiddleware => {
  const uploaderEventBefore: UploaderBefore = async (request) => {
    const reason = rejectionReason(request.event, cacheExtensions);
    if (reason !== undefined) {
      logger.error('upload', { outcome: 'rejected', reason, path: loggablePath(eventPath(request.event)) });
      countUpload('rejected');
      await cleanupMiddlewares(request);
      return { outcome: 'rejected', reason } satisfies RejectedEvent;
    }
    request.context.cachePath = String(eventPath(request.event));
    const expected = eventExpectation(request.event);
    if (expected !== undefined) request.context.expected = expected;
    const triggeredBy = eventTrigger(request.event);
    if (triggeredBy !== undefined) logger.appendKeys({ triggeredBy });
  };
  return { before: uploaderEventBefore };
};
