/**
 * handler Lambda (API Gateway HTTP API, route `/{path+}`, or a Lambda Function
 * URL: see front-door.ts): answers every request with a 302, to the origin or
 * to the cached copy.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import inputOutputLogger from '@middy/input-output-logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { type CachePathContext, validatedPath } from '../commons/cache-path.js';
import { HANDLER_CLIENT_SETTINGS } from '../commons/clients.js';
import { parseHandlerConfig } from '../commons/config.js';
import { createErrorReporter } from '../commons/error-reporting.js';
import {
  countMetalinkAnswer,
  countOfflineAnswer,
  countOriginRequest,
  countRequest,
  countStaleAnswer,
  countTimeTravel,
  LOG_METRICS_OPTIONS,
  metrics,
  recordOriginHeadLatency,
} from '../commons/metrics.js';
import { logger } from '../commons/powertools.js';
import { expectationFromHeaders } from '../commons/rescue-request.js';
import { createS3Client } from '../commons/s3-client.js';
import { loadTracing } from '../commons/tracing.js';
import { CACHE_PARAMETER, forwardedQuery } from './client-query.js';
import { createLambdaClient } from './lambda-client.js';
import { answerMirrorService, mirrorServiceOf } from './metalink/answer.js';
import { LastRepositories } from './metalink/last-repository.js';
import { publicBaseUrl } from './metalink/public-url.js';
import { answerMirrorServiceAt, travelMirrorServiceOf } from './metalink/time-travel.js';
import { UpstreamMemo } from './metalink/upstream-memo.js';
import { originFallback } from './middlewares/origin-fallback.js';
import { requestPath } from './middlewares/request-path.js';
import { headOrigin } from './origin.js';
import { originHealthByName } from './origin-health.js';
import { createRedirectMemo } from './recent-keys.js';
import { decideRedirect } from './redirect.js';
import { notFoundResponse, redactUrl, redirectResponse } from './responses.js';
import { answerTravel } from './time-travel/answer.js';
import { travelPathOf } from './time-travel/travel-path.js';

const config = parseHandlerConfig(process.env);
const tracing = await loadTracing(process.env);
const s3 = createS3Client(process.env, HANDLER_CLIENT_SETTINGS, tracing.captureClient);
const lambda = createLambdaClient(HANDLER_CLIENT_SETTINGS, tracing.captureClient);
const memo = createRedirectMemo(Date.now, config.originLostTtlMs);
const health = originHealthByName(config.originOfflinePeriodMs);
const reportError = createErrorReporter(config);
const lastRepositories = new LastRepositories(s3, config.bucketName);
const upstreamMemo = new UpstreamMemo(Date.now, config.metalinkAnswerTtlMs);

const probeOrigin = (url: string, timeoutMs: number) =>
  tracing.traced('### origin HEAD', () => headOrigin(url, timeoutMs));

const redirectRequest = async (event: APIGatewayProxyEventV2, context: CachePathContext) => {
  const started = performance.now();
  const asked = validatedPath(context);
  // An event built by hand (a console test event) may lack the request context: a GET, then.
  const method = event.requestContext?.http?.method ?? 'GET';
  const mirrorService = mirrorServiceOf(asked, config);
  if (mirrorService !== undefined) {
    const answer = await answerMirrorService(
      mirrorService,
      { config, s3, lastRepositories, memo: upstreamMemo },
      { query: forwardedQuery(event.rawQueryString), publicUrl: publicBaseUrl(event) },
    );
    countMetalinkAnswer(mirrorService.service, answer.outcome);
    const durationMs = Math.round(performance.now() - started);
    logger.info('metalink', { outcome: answer.outcome, ...answer.facts, method, durationMs });
    return answer.response;
  }
  const travelService = travelMirrorServiceOf(asked, config);
  if (travelService !== undefined) {
    const answer = await answerMirrorServiceAt(
      travelService,
      { config, s3, lastRepositories, memo: upstreamMemo },
      { query: forwardedQuery(event.rawQueryString), publicUrl: publicBaseUrl(event) },
    );
    countMetalinkAnswer(travelService.service, answer.outcome);
    const durationMs = Math.round(performance.now() - started);
    logger.info('metalink', { outcome: answer.outcome, ...answer.facts, path: asked, method, durationMs });
    return answer.response;
  }
  const travel = travelPathOf(asked);
  if (travel !== undefined && travel.kind !== 'pass') {
    const answer = await answerTravel(
      travel,
      { config, s3 },
      { method: method === 'HEAD' ? 'HEAD' : 'GET', accept: event.headers?.accept },
    );
    countTimeTravel(answer.outcome);
    const durationMs = Math.round(performance.now() - started);
    logger.info('time travel', { outcome: answer.outcome, ...answer.facts, path: asked, method, durationMs });
    return answer.response;
  }
  if (travel !== undefined) countTimeTravel('passed-through');
  // An RPM under /@<time>/ is the same file as without the time: same key, origin first.
  const path = travel?.kind === 'pass' ? travel.path : asked;
  const want = event.queryStringParameters?.[CACHE_PARAMETER] === 'stored' ? 'stored' : undefined;
  const query = forwardedQuery(event.rawQueryString);
  const expected = expectationFromHeaders(event.headers);
  const decision = await decideRedirect(
    path,
    { config, s3, lambda, probeOrigin, memo, health },
    {
      method,
      requestId: context.awsRequestId,
      ...(want === undefined ? {} : { want }),
      ...(query === undefined ? {} : { query }),
      ...(expected === undefined ? {} : { expected }),
    },
  );
  countRequest(decision.outcome);
  if (decision.origin !== undefined) countOriginRequest(decision.origin, decision.outcome);
  if (decision.originHeadMs !== undefined) recordOriginHeadLatency(decision.originHeadMs);
  if (decision.staleReason !== undefined) countStaleAnswer(decision.staleReason);
  if (decision.originStatus === 'assumed-offline') countOfflineAnswer();
  logger.info('request', {
    ...decision,
    path,
    method,
    location: redactUrl(decision.location),
    durationMs: Math.round(performance.now() - started),
  });
  if (decision.location === undefined) {
    return notFoundResponse(
      decision.notStored ? 'not-stored' : 'not-in-snapshot',
      decision.outcome,
      decision.originStatus,
    );
  }
  const { rescue, rescueReason, uploadRefused } = decision;
  return redirectResponse(decision.location, decision.outcome, decision.originStatus, {
    rescue: rescue === undefined ? undefined : { state: rescue, reason: rescueReason },
    uploadRefused,
  });
};

// The presigned Location of a hit carries credentials: never in the debug log.
const logInputOutput = (message: unknown) => logger.debug('input-output', { io: message });
const NOT_LOGGED = [
  'response.headers.Location',
  'event.headers.authorization',
  'event.headers.cookie',
  'event.cookies',
];

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, CachePathContext>()
  .use(tracing.middleware)
  .use(injectLambdaContext(logger, { clearState: true }))
  .use(logMetrics(metrics, LOG_METRICS_OPTIONS))
  .use(inputOutputLogger({ logger: logInputOutput, omitPaths: NOT_LOGGED, mask: '[redacted]' }))
  .use(httpErrorHandler({ logger: false }))
  .use(originFallback({ origins: config, reportError, mirrorServices: config }))
  .use(requestPath())
  .handler(redirectRequest);
