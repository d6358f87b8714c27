/**
 * The uploader's transient failures: thrown, so Lambda's async retry gets
 * another chance; nothing was stored.
 */

/** The origin could not give the file now; Lambda's async retry may succeed. */
export class OriginUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'OriginUnavailableError';
  }
}

/** The body did not match what origin announced: nothing was stored. */
export class IncompleteDownloadError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'IncompleteDownloadError';
  }
}

/**
 * S3 answered 409 ConditionalRequestConflict to the commit: another write to
 * the key was in flight, and nothing was decided. The stream is spent, so the
 * whole upload starts again on Lambda's retry (which finds the file cached if
 * the other write committed it).
 */
export class ConditionalWriteConflictError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConditionalWriteConflictError';
  }
}
