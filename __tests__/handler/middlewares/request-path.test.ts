import { jest } from '@jest/globals';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { type CachePathContext, validatedPath } from '../../../src/commons/cache-path.js';
import { requestPath } from '../../../src/handler/middlewares/request-path.js';
import { httpApiEvent } from '../../helpers/events.js';
import { lambdaContext } from '../../helpers/lambda-context.js';
import { captureLogs } from '../../helpers/logs.js';

describe('requestPath middleware', () => {
  const core = jest.fn(async (_event: APIGatewayProxyEventV2, context: CachePathContext) => ({
    statusCode: 302,
    headers: { Location: validatedPath(context) },
  }));
  const chain = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, CachePathContext>()
    .use(httpErrorHandler({ logger: false }))
    .use(requestPath())
    .handler(core);
  let logs: ReturnType<typeof captureLogs>;

  beforeEach(() => {
    core.mockClear();
    logs = captureLogs();
  });

  afterEach(() => {
    logs.restore();
  });

  it('passes the decoded path to the core through the context', async () => {
    const response = await chain(httpApiEvent('pub/libstdc++-1.0^1~rc1.rpm'), lambdaContext());

    expect(response).toEqual({ statusCode: 302, headers: { Location: 'pub/libstdc++-1.0^1~rc1.rpm' } });
    expect(core).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['no pathParameters', httpApiEvent(undefined), 'missing path'],
    ['pathParameters without path', httpApiEvent(undefined, { pathParameters: {} }), 'missing path'],
    ['an empty path', httpApiEvent(''), 'missing path'],
    ['invalid Unicode', httpApiEvent('a/\ud800.rpm'), 'not valid Unicode'],
    ['NUL', httpApiEvent('a/x\u0000.rpm'), 'control characters'],
    ['CR/LF', httpApiEvent('x.rpm\r\nLocation: https://evil.example'), 'control characters'],
  ])('answers 400 with a reason, before the core, for %s', async (_name, event, reason) => {
    const response = await chain(event, lambdaContext());

    expect(response).toMatchObject({ statusCode: 400, headers: { 'Content-Type': 'text/plain' } });
    expect(typeof response === 'object' ? response.body : '').toContain(reason);
    expect(core).not.toHaveBeenCalled();
    expect(logs.lines()).toEqual([
      expect.objectContaining({ level: 'WARN', outcome: 'bad-request', reason: expect.stringContaining(reason) }),
    ]);
  });

  it('reports a chain wired without it instead of guessing a path', () => {
    expect(() => validatedPath(lambdaContext())).toThrow('request-path middleware must run first');
  });
});
