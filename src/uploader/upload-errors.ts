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
