/**
 * The logger, created once per container and shared by both Lambdas.
 * (Tracing lives in tracing.ts, loaded only when it is on.)
 */
import { Logger } from '@aws-lambda-powertools/logger';

export const SERVICE_NAME = 'rpm-cache';

export const logger = new Logger({ serviceName: SERVICE_NAME });
