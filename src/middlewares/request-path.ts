/**
 * First link of the handler's chain: a request whose path is missing or cannot
 * be put in a URL or header safely gets a 400 with a short reason, before any
 * origin, S3 or Lambda call.
 */

import type { MiddlewareObj } from '@middy/core';
import { createError } from '@middy/util';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { countRequest } from '../commons/metrics.js';
import { checkPath } from '../commons/paths.js';
import { logger } from '../commons/powertools.js';
import { loggablePath } from '../commons/responses.js';

/** The Lambda context once the path is validated; the path is decoded, not re-encoded. */
export interface CachePathContext extends Context {
  cachePath?: string;
}

export class MissingCachePathError extends Error {
  constructor() {
    super('no validated path in the context: the request-path middleware must run first');
    this.name = 'MissingCachePathError';
  }
}

/** The validated path, for the core; throws if the chain was wired without the middleware. */
export const validatedPath = (context: CachePathContext): string => {
  if (context.cachePath === undefined) throw new MissingCachePathError();
  return context.cachePath;
};

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
