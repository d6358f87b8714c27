/**
 * First link of the handler's chain: a request whose path is missing or cannot
 * be put in a URL or header safely gets a 400 with a short reason, before any
 * origin, S3 or Lambda call. The path comes through either front door (an
 * HTTP API or a Function URL, see front-door.ts), decoded once.
 */
import { createError } from '@middy/util';
import { loggablePath } from '../../commons/loggable-path.js';
import { countRequest } from '../../commons/metrics.js';
import { checkPath, type PathCheck } from '../../commons/paths.js';
import { logger } from '../../commons/powertools.js';
import { frontDoorPath } from '../front-door.js';
import type { HandlerBefore, HandlerMiddleware } from './chain.js';

/**
 * Validates the request path (an HTTP API's `pathParameters.path`, a Function
 * URL's `rawPath` decoded once) and puts it in the context as `cachePath`, or
 * ends the request with a 400 (the http-error-handler writes it).
 *
 * @example
 * middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, CachePathContext>()
 *   .use(httpErrorHandler({ logger: false }))
 *   .use(requestPath())
 *   .handler(async (_event, context) => redirectTo(validatedPath(context)));
 */
export const requestPath = (): HandlerMiddleware => {
  const requestPathBefore: HandlerBefore = (request) => {
    const fromDoor = frontDoorPath(request.event);
    const check: PathCheck = fromDoor.decoded ? checkPath(fromDoor.path) : { valid: false, reason: fromDoor.reason };
    if (!check.valid) {
      logger.warn('request', {
        outcome: 'bad-request',
        reason: check.reason,
        frontDoor: fromDoor.frontDoor,
        path: loggablePath(fromDoor.decoded ? fromDoor.path : fromDoor.rawPath),
      });
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
