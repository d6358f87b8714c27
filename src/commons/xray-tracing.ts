/**
 * The X-Ray side of {@link Tracing}: Powertools Tracer, loaded by
 * `loadTracing` only when tracing is on.
 */
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { MiddlewareObj } from '@middy/core';
import { SERVICE_NAME } from './powertools.js';
import type { Tracing } from './tracing.js';

export const xrayTracing = (): Tracing => {
  const tracer = new Tracer({ serviceName: SERVICE_NAME });
  return {
    middleware: captureLambdaHandler(tracer, { captureResponse: false }) as MiddlewareObj,
    captureClient: (client) => tracer.captureAWSv3Client(client),
    traced: async (name, work) => {
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
    },
  };
};
