/**
 * First link of the handler's chain: a request whose path is missing or cannot
 * be put in a URL or header safely gets a 400 with a short reason, before any
 * origin, S3 or Lambda call.
 */

import type { MiddlewareObj } from '@middy/core';
import { createError } from '@middy/util';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import type { CachePathContext } from '../../commons/cache-path.js';
import { loggablePath } from '../../commons/loggable-path.js';
import { countRequest } from '../../commons/metrics.js';
import { checkPath } from '../../commons/paths.js';
import { logger } from '../../commons/powertools.js';

export const requestPath = (): MiddlewareObj<
  APIGatewayProxyEventV2,
  APIGatewayProxyResultV2,
  Error,
  CachePathContext
> => {
  const requestPathBefore: NonNullable<
    MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, CachePathContext>['before']
  > = (request) => {
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
