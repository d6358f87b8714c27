/**
 * X-Ray tracing, loaded only where it will record something: Powertools
 * Tracer pulls in the X-Ray SDK, which costs a cold start 35-40 ms. It is on
 * in Lambda unless POWERTOOLS_TRACE_ENABLED=false (as Powertools decides),
 * and off elsewhere (tests, the local stack, the benchmark).
 */
import type { MiddlewareObj } from '@middy/core';
import type { Environment } from './config.js';

export interface Tracing {
  /** Opens and closes the invocation's segment (Powertools' captureLambdaHandler). */
  readonly middleware: MiddlewareObj;
  /** An AWS SDK v3 client whose calls are recorded as subsegments. */
  captureClient<Client extends object>(client: Client): Client;
  /** Runs `work` in a subsegment named `name`, closing it however `work` ends. */
  traced<T>(name: string, work: () => Promise<T>): Promise<T>;
}

export const NO_TRACING: Tracing = Object.freeze({
  // Middy takes no empty middleware: a `before` that does nothing.
  middleware: { before: () => undefined },
  captureClient: <Client extends object>(client: Client) => client,
  traced: <T>(_name: string, work: () => Promise<T>) => work(),
});

export const isTracingWanted = (env: Environment): boolean =>
  env.POWERTOOLS_TRACE_ENABLED?.trim().toLowerCase() !== 'false' &&
  (env.AWS_LAMBDA_FUNCTION_NAME ?? '') !== '' &&
  env.AWS_SAM_LOCAL !== 'true';

/** The tracing for this environment: X-Ray when wanted, otherwise nothing (and nothing loaded). */
export const loadTracing = async (env: Environment): Promise<Tracing> =>
  isTracingWanted(env) ? (await import('./xray-tracing.js')).xrayTracing() : NO_TRACING;
