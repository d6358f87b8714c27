/**
 * Logger and tracer, created once per container and shared by both Lambdas.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Tracer } from '@aws-lambda-powertools/tracer';

export const SERVICE_NAME = 'rpm-cache';

export const logger = new Logger({ serviceName: SERVICE_NAME });
export const tracer = new Tracer({ serviceName: SERVICE_NAME });

/** Runs `work` in a tracer subsegment named `name`, closing it however `work` ends. */
export const traced = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
  if (!tracer.isTracingEnabled()) return work();
  const parent = tracer.getSegment();
  if (parent === undefined) return work();
  const subsegment = parent.addNewSubsegment(name);
  tracer.setSegment(subsegment);
  try {
    return await work();
  } catch (error) {
    subsegment.addError(error as Error);
    throw error;
  } finally {
    subsegment.close();
    tracer.setSegment(parent);
  }
};
