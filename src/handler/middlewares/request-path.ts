/**
 * First link of the handler's chain: a request whose path is missing or cannot
 * be put in a URL or header safely gets a 400 with a short reason, before any
 * origin, S3 or Lambda call.
 */
import { createError } from '@middy/util';
import { loggablePath } from '../../commons/loggable-path.js';
import { countRequest } from '../../commons/metrics.js';
import { checkPath } from '../../commons/paths.js';
import { logger } from '../../commons/powertools.js';
import type { HandlerBefore, HandlerMiddleware } from './chain.js';

/**
 * Validates `pathParameters.path` and puts it in the context as `cachePath`,
 * or ends the request with a 400 (the http-error-handler writes it).
 *
 * @example
 * middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, CachePathContext>()
 *   .use(httpErrorHandler({ logger: false }))
 *   .use(requestPath())
 *   .handler(async (_event, context) => redirectTo(validatedPath(context)));
 */
export const requestPath = (): HandlerMiddleware => {
  const requestPathBefore: HandlerBefore = (request) => {
    const rawPath = request.event.pathParameters?.path;
    const check = checkPath(rawPath);
    if (!check.valid) {
      logger.warn('request', { outcome: 'bad-request', reason: check.reason, path: loggablePath(rawPath) });
      countRequest('bad-request');
      // no-store, as on every answer (http-error-handler sends `error.headers`).
      throw Object.assign(createError(400, check.reason, { expose: true }), {
        headers: { 'Cache-Control': 'no-store' },
      });
    }
    request.context.cachePath = check.path;
  };
  return { before: requestPathBefore };
};
