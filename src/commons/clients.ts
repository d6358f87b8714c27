/**
 * Settings of the AWS SDK clients both Lambdas create once per container.
 * Endpoints come from the SDK's own AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_LAMBDA,
 * so tests and S3-compatible stores need no variables of ours. Each client
 * has a module of its own (s3-client.ts, lambda-client.ts), so a Lambda's
 * bundle loads only the clients it uses.
 */

export interface ClientSettings {
  /** Time to open a connection. */
  readonly connectionTimeoutMs: number;
  /** Time for a whole request and response; a stalled endpoint fails instead of hanging. */
  readonly requestTimeoutMs: number;
  /** Attempts per Lambda call (the SDK's default is 3). */
  readonly lambdaMaxAttempts?: number;
}

/**
 * The handler answers within seconds and its calls carry their own deadline.
 * An Invoke is not retried: a throttled trigger costs one `fallback` and the
 * next request triggers again, while backing off would only reach the
 * deadline and hide the throttling behind a timeout.
 */
export const HANDLER_CLIENT_SETTINGS: ClientSettings = Object.freeze({
  connectionTimeoutMs: 1000,
  requestTimeoutMs: 3000,
  lambdaMaxAttempts: 1,
});
/** The uploader sends 5 MiB parts: give each request time, not forever. */
export const UPLOADER_CLIENT_SETTINGS: ClientSettings = Object.freeze({
  connectionTimeoutMs: 3000,
  requestTimeoutMs: 120_000,
});

/** The request handler settings of a client: bounded connection and request times. */
export const requestHandler = ({ connectionTimeoutMs, requestTimeoutMs }: ClientSettings) => ({
  connectionTimeout: connectionTimeoutMs,
  requestTimeout: requestTimeoutMs,
  throwOnRequestTimeout: true,
});

/** What a client is wrapped in once created (the tracer's capture, or nothing). */
export type CaptureClient = <Client extends object>(client: Client) => Client;
