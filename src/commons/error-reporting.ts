/**
 * Sentry error reporting. The SDK is the largest single cost of a cold start,
 * so it is loaded and initialised on the first report, not at init: a
 * container that never fails never pays for it (the first report pays once).
 */
import type { CacheConfig } from './config.js';
import { logger } from './powertools.js';

export type ErrorReporter = (error: unknown, extra?: Readonly<Record<string, unknown>>) => Promise<void>;

/** Sentry's delivery is asynchronous; Lambda freezes on return, so wait this long at most. */
const FLUSH_TIMEOUT_MS = 2000;

const reportNothing: ErrorReporter = async () => {};

type SentrySdk = typeof import('@sentry/aws-serverless');

/**
 * The reporter for `config`: nothing without SENTRY_DSN; otherwise Sentry,
 * imported and initialised once, when the first error is reported.
 */
export const createErrorReporter = (
  config: Pick<CacheConfig, 'sentryDsn' | 'deploymentEnvironment'>,
): ErrorReporter => {
  const { sentryDsn } = config;
  if (sentryDsn === undefined) return reportNothing;
  let loading: Promise<SentrySdk> | undefined;
  const sentry = (): Promise<SentrySdk> => {
    loading ??= import('@sentry/aws-serverless').then((Sentry) => {
      Sentry.init({
        dsn: sentryDsn,
        environment: config.deploymentEnvironment,
        // Errors only: traces are the tracer's job, and default integrations would
        // instrument the whole process.
        defaultIntegrations: false,
        tracesSampleRate: 0,
        sendDefaultPii: false,
      });
      return Sentry;
    });
    // A failed load is tried again on the next report.
    loading.catch(() => {
      loading = undefined;
    });
    return loading;
  };
  return async (error, extra) => {
    const Sentry = await sentry();
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
