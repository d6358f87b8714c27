import { jest } from '@jest/globals';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import type { CachePathContext } from '../../../src/commons/cache-path.js';
import { originFallback } from '../../../src/handler/middlewares/origin-fallback.js';
import { requestPath } from '../../../src/handler/middlewares/request-path.js';
import { s3Error } from '../../helpers/aws.js';
import { httpApiEvent } from '../../helpers/events.js';
import { lambdaContext } from '../../helpers/lambda-context.js';
import { captureLogs } from '../../helpers/logs.js';

describe('originFallback middleware', () => {
  const reportError = jest.fn(async (_error: unknown, _extra?: Readonly<Record<string, unknown>>) => {});
  const failingCore = jest.fn(async (): Promise<APIGatewayProxyResultV2> => {
    throw s3Error('SlowDown', 503);
  });
  const chain = () =>
    middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, CachePathContext>()
      .use(httpErrorHandler({ logger: false }))
      .use(originFallback({ origins: { originBaseUrl: 'https://dl.fedoraproject.org', origins: [] }, reportError }))
      .use(requestPath())
      .handler(failingCore);
  let logs: ReturnType<typeof captureLogs>;

  beforeEach(() => {
    reportError.mockClear();
    failingCore.mockClear();
    logs = captureLogs();
  });

  afterEach(() => {
    logs.restore();
  });

  it('turns an error of the core into a 302 to origin, labelled fallback', async () => {
    const response = await chain()(httpApiEvent('pub/a b/libstdc++-1.rpm'), lambdaContext());

    expect(response).toEqual({
      statusCode: 302,
      headers: {
        Location: 'https://dl.fedoraproject.org/pub/a%20b/libstdc++-1.rpm',
        'X-Cache': 'fallback',
        'Cache-Control': 'no-store',
      },
      body: '',
    });
  });

  it('logs one error line naming the fault and reports the error', async () => {
    await chain()(httpApiEvent('pub/a.rpm'), lambdaContext());

    const lines = logs.lines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'ERROR',
      message: 'request',
      outcome: 'fallback',
      path: 'pub/a.rpm',
      error: expect.objectContaining({ name: 'SlowDown' }),
    });
    expect(reportError).toHaveBeenCalledTimes(1);
    expect(reportError.mock.calls[0]?.[0]).toMatchObject({ name: 'SlowDown' });
  });

  it('still redirects when error reporting itself fails', async () => {
    reportError.mockRejectedValueOnce(new Error('sentry down'));

    const response = await chain()(httpApiEvent('pub/a.rpm'), lambdaContext());

    expect(response).toMatchObject({ statusCode: 302, headers: { 'X-Cache': 'fallback' } });
  });

  it('leaves a 400 from path validation alone', async () => {
    const response = await chain()(httpApiEvent('x\u0000.rpm'), lambdaContext());

    expect(response).toMatchObject({ statusCode: 400 });
    expect(failingCore).not.toHaveBeenCalled();
    expect(reportError).not.toHaveBeenCalled();
  });

  it('answers 503, not a redirect to the service, when /@<T>/metalink fails: the service knows only now', async () => {
    const withMetalink = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, CachePathContext>()
      .use(httpErrorHandler({ logger: false }))
      .use(
        originFallback({
          origins: { originBaseUrl: 'https://dl.fedoraproject.org', origins: [] },
          reportError,
          mirrorServices: { metalinkUrl: 'https://mirrors.example/metalink', mirrorlistUrl: undefined },
        }),
      )
      .use(requestPath())
      .handler(failingCore);

    const response = await withMetalink(httpApiEvent('@20261125T000000Z/metalink'), lambdaContext());

    expect(response).toMatchObject({ statusCode: 503, headers: { 'Retry-After': expect.any(String) } });
    expect(logs.lines()[0]).toMatchObject({ message: 'metalink', outcome: 'unavailable', mirrorService: 'metalink' });
    expect(reportError).toHaveBeenCalledTimes(1);
  });
});
