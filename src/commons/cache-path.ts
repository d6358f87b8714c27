/**
 * The path a request or an upload is about, once its first middleware has
 * checked it: both Lambdas' cores read it from their context.
 */
import type { Context } from 'aws-lambda';

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
