/**
 * Sentry error reporting. The SDK is imported only when SENTRY_DSN is set,
 * because it is the largest single cost of a cold start.
 */
import type { CacheConfig } from './config.js';
import { logger } from './powertools.js';

export type ErrorReporter = (error: unknown, extra?: Readonly<Record<string, unknown>>) => Promise<void>;

/** Sentry's delivery is asynchronous; Lambda freezes on return, so wait this long at most. */
const FLUSH_TIMEOUT_MS = 2000;

const reportNothing: ErrorReporter = async () => {};

export const createErrorReporter = async (
  config: Pick<CacheConfig, 'sentryDsn' | 'deploymentEnvironment'>,
): Promise<ErrorReporter> => {
  if (config.sentryDsn === undefined) return reportNothing;
  const Sentry = await import('@sentry/aws-serverless');
  Sentry.init({
    dsn: config.sentryDsn,
    environment: config.deploymentEnvironment,
    // Errors only: traces are the tracer's job, and default integrations would
    // instrument the whole process.
    defaultIntegrations: false,
    tracesSampleRate: 0,
    sendDefaultPii: false,
  });
  return async (error, extra) => {
    Sentry.captureException(error, extra === undefined ? undefined : { extra: { ...extra } });
    await Sentry.flush(FLUSH_TIMEOUT_MS);
  };
};

/**
 * Reports `error` with `report`; a failure to report is logged, never thrown,
 * so reporting cannot change what a request answers or how an upload ends.
 */
export const reportSafely = async (
  report: ErrorReporter,
  error: unknown,
  extra?: Readonly<Record<string, unknown>>,
): Promise<void> => {
  try {
    await report(error, extra);
  } catch (reportingError) {
    logger.warn('error reporting failed', { error: reportingError });
  }
};
