/**
 * First link of the uploader's chain. An event that is not `{ "path": "<a
 * valid path to a cacheable file or a repodata/repomd.xml>" }` is logged as an error and finishes the
 * invocation successfully: retrying a malformed event can never succeed.
 */
import { cleanupMiddlewares } from '@aws-lambda-powertools/commons';
import { loggablePath } from '../../commons/loggable-path.js';
import { countUpload } from '../../commons/metrics.js';
import { cacheKeyProblem, checkPath, isCacheable } from '../../commons/paths.js';
import { logger } from '../../commons/powertools.js';
import { isSnapshotRequest } from '../../commons/repodata.js';
import type { RejectedEvent, UploaderBefore, UploaderMiddleware } from './chain.js';

export type { RejectedEvent, UploaderResponse } from './chain.js';

export interface UploaderEventOptions {
  /** The suffixes of cacheable files (CACHE_EXTENSIONS): any other path is rejected. */
  readonly cacheExtensions: readonly string[];
}

const eventPath = (event: unknown): unknown =>
  typeof event === 'object' && event !== null && !Array.isArray(event) && 'path' in event ? event.path : undefined;

/** The handler's request id, when the event carries a plausible one (it only labels log lines). */
const eventTrigger = (event: unknown): string | undefined => {
  if (typeof event !== 'object' || event === null || !('triggeredBy' in event)) return undefined;
  const { triggeredBy } = event;
  return typeof triggeredBy === 'string' && /^[\w.:-]{1,128}$/.test(triggeredBy) ? triggeredBy : undefined;
};

const rejectionReason = (event: unknown, cacheExtensions: readonly string[]): string | undefined => {
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
  return cacheKeyProblem(path);
};

/**
 * Validates the async-invoke event and puts its path in the context as
 * `cachePath`; a malformed event ends the invocation as `rejected`.
 *
 * @example
 * middy<unknown, UploaderResponse, Error, CachePathContext>()
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
    const triggeredBy = eventTrigger(request.event);
    if (triggeredBy !== undefined) logger.appendKeys({ triggeredBy });
  };
  return { before: uploaderEventBefore };
};
