/**
 * The cache is never in the critical path: any error after the path is
 * validated (S3, Lambda, anything) becomes a 302 to origin, logged and
 * reported. Client errors (4xx) are left to the HTTP error handler. Under
 * `/@<time>/`, repository metadata and listings exist only in the cache:
 * their errors are a 503 (the origin would answer with the repository as it
 * is now, not as it was), RPMs go to the origin as ever. `/metalink` and
 * `/mirrorlist`, when the cache answers them, go to the mirror manager itself.
 */
import { HttpError } from '@middy/util';
import { awsErrorFacts } from '../../commons/aws-errors.js';
import type { HandlerConfig } from '../../commons/config.js';
import { type ErrorReporter, reportSafely } from '../../commons/error-reporting.js';
import { countFallback, countMetalinkAnswer, countRequest, countTimeTravel } from '../../commons/metrics.js';
import { type OriginsConfig, originRoute } from '../../commons/origins.js';
import { logger } from '../../commons/powertools.js';
import { forwardedQuery } from '../client-query.js';
import { mirrorServiceOf } from '../metalink/answer.js';
import { travelMirrorServiceOf } from '../metalink/time-travel.js';
import { withQuery } from '../request-steps.js';
import { redirectResponse, unavailableResponse } from '../responses.js';
import { travelPathOf } from '../time-travel/travel-path.js';
import type { HandlerMiddleware, HandlerOnError } from './chain.js';

export interface OriginFallbackOptions {
  /** Where a request goes when the cache fails: its origin's first URL (`ORIGINS`, else `ORIGIN_HOST`). */
  readonly origins: OriginsConfig;
  /** Reports each error that caused a fallback (Sentry, or nothing). */
  readonly reportError: ErrorReporter;
  /** The mirror manager's services the cache answers (`METALINK_URL`): their requests fall back to them. */
  readonly mirrorServices?: Pick<HandlerConfig, 'metalinkUrl' | 'mirrorlistUrl'>;
}

/** A 4xx the chain meant to send (the 400 of path validation): not a fault of the cache. */
const isClientError = (error: unknown): boolean =>
  error instanceof HttpError && error.statusCode >= 400 && error.statusCode < 500;

/**
 * Turns any error after path validation into a 302 to origin, labelled
 * `fallback`, logged, counted and reported.
 *
 * @example
 * middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, CachePathContext>()
 *   .use(httpErrorHandler({ logger: false }))
 *   .use(originFallback({ origins: config, reportError }))
 *   .use(requestPath())
 *   .handler(redirectRequest);
 */
export const originFallback = ({ origins, reportError, mirrorServices }: OriginFallbackOptions): HandlerMiddleware => {
  const originFallbackOnError: HandlerOnError = async (request) => {
    if (request.response !== undefined && request.response !== null) return;
    const { error } = request;
    const path = request.context.cachePath;
    if (isClientError(error) || path === undefined) return;

    const query = forwardedQuery(request.event.rawQueryString);
    const mirrorService = mirrorServices === undefined ? undefined : mirrorServiceOf(path, mirrorServices);
    if (mirrorService !== undefined) {
      // The client then gets the upstream's own answer, as if the cache were not there.
      logger.error('metalink', {
        outcome: 'fallback',
        mirrorService: mirrorService.service,
        error,
        ...awsErrorFacts(error),
      });
      countMetalinkAnswer(mirrorService.service, 'fallback');
      countFallback(error);
      await reportSafely(reportError, error, { path });
      request.response = redirectResponse(withQuery(mirrorService.upstream, query), 'fallback');
      return;
    }
    const travelService = mirrorServices === undefined ? undefined : travelMirrorServiceOf(path, mirrorServices);
    if (travelService !== undefined) {
      // The service knows the repository only as it is now: no answer is better than a wrong one.
      logger.error('metalink', {
        outcome: 'unavailable',
        mirrorService: travelService.service,
        path,
        error,
        ...awsErrorFacts(error),
      });
      countMetalinkAnswer(travelService.service, 'unavailable');
      countFallback(error);
      await reportSafely(reportError, error, { path });
      request.response = unavailableResponse();
      return;
    }
    const travel = travelPathOf(path);
    if (travel !== undefined && travel.kind !== 'pass') {
      // The origin knows the repository only as it is now: no answer is better than a wrong one.
      const repository =
        travel.kind === 'metadata' ? travel.repodata.repoDir : travel.kind === 'listing' ? travel.repoDir : '';
      logger.error('time travel', { outcome: 'unavailable', repository, path, error, ...awsErrorFacts(error) });
      countTimeTravel('unavailable');
      countFallback(error);
      await reportSafely(reportError, error, { path });
      request.response = unavailableResponse();
      return;
    }
    // An RPM under /@<time>/ is the same file as without the time.
    const originPath = travel === undefined ? path : travel.path;
    const route = originRoute(origins, originPath);
    logger.error('request', { outcome: 'fallback', path, origin: route.origin, error, ...awsErrorFacts(error) });
    countRequest('fallback');
    countFallback(error);
    await reportSafely(reportError, error, { path });
    request.response = redirectResponse(withQuery(route.urls[0], query), 'fallback');
  };
  return { onError: originFallbackOnError };
};
