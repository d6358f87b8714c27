import { ConfigError } from '../../src/commons/config.js';
import {
  eventBuilderFor,
  fromHttpApiResult,
  frontDoorFromEnv,
  MalformedRequestError,
  toFunctionUrlEvent,
  toHttpApiEvent,
} from '../../src/local/api-gateway.js';
import { capturedFunctionUrlEvent, capturedHttpApiEvent } from '../helpers/captured-events.js';

const request = (target: string, method = 'GET') => ({
  method,
  target,
  headers: { host: '127.0.0.1:8080', 'user-agent': 'libdnf', cookie: 'a=b; c=d' },
  sourceIp: '127.0.0.1',
  protocol: 'HTTP/1.1',
});

describe('toHttpApiEvent', () => {
  it.each([
    ['/pub/libstdc%2b%2b-1.rpm', 'pub/libstdc++-1.rpm'],
    ['/pub/libstdc++-1.rpm', 'pub/libstdc++-1.rpm'],
    ['/pub/demo-1.0%5e2026git-1.rpm', 'pub/demo-1.0^2026git-1.rpm'],
    ['/pub/demo-2.0~rc1-1.rpm', 'pub/demo-2.0~rc1-1.rpm'],
    ['/pub/a%20b.rpm', 'pub/a b.rpm'],
    ['/pub/%C3%BC.rpm', 'pub/ü.rpm'],
    ['/pub/a%2Fb.rpm', 'pub/a/b.rpm'],
    // As captured from a real HTTP API (hotsock/voker, vokerhttp/testdata/ingress-paths.json): decoded twice.
    ['/capture/literal%252Fvalue', 'capture/literal/value'],
    ['/capture/literal%2525value', 'capture/literal%value'],
    ['/capture/literal%253Fvalue', 'capture/literal?value'],
    ['/capture/question%3Fvalue', 'capture/question'],
    ['/capture/hash%23value', 'capture/hash#value'],
    ['/pub/literal%252b.rpm', 'pub/literal+.rpm'],
  ])('hands %s over as a real HTTP API does: path %j, rawPath decoded too', (target, path) => {
    const event = toHttpApiEvent(request(target));

    expect(event.pathParameters).toEqual({ path });
    expect(event.rawPath).toBe(`/${path}`);
  });

  it.each(['/pub/%zz.rpm', '/capture/percent%25done'])(
    'refuses %s, which a real HTTP API refuses too (the second decoding cannot read it)',
    (target) => {
      expect(() => toHttpApiEvent(request(target))).toThrow(MalformedRequestError);
    },
  );

  it('has no path parameter for GET /', () => {
    expect(toHttpApiEvent(request('/')).pathParameters).toBeUndefined();
  });

  it('builds a payload 2.0 event with the query, headers, cookies and request context', () => {
    const event = toHttpApiEvent(request('/pub/a.rpm?arch=x86_64&x=1', 'HEAD'), new Date('2026-11-28T07:00:00Z'));

    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'ANY /{path+}',
      rawPath: '/pub/a.rpm',
      rawQueryString: 'arch=x86_64&x=1',
      queryStringParameters: { arch: 'x86_64', x: '1' },
      cookies: ['a=b', 'c=d'],
      headers: { host: '127.0.0.1:8080', 'user-agent': 'libdnf' },
      pathParameters: { path: 'pub/a.rpm' },
      isBase64Encoded: false,
      requestContext: {
        http: { method: 'HEAD', path: '/pub/a.rpm', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'libdnf' },
        stage: '$default',
        timeEpoch: Date.parse('2026-11-28T07:00:00Z'),
        requestId: expect.any(String),
      },
    });
    expect(event.headers.cookie).toBeUndefined();
  });
});

/** The request the captured events (hotsock/voker) were made with. */
const capturedRequest = () => {
  const captured = capturedFunctionUrlEvent();
  return {
    method: captured.requestContext.http.method,
    target: `${captured.rawPath}?${captured.rawQueryString}`,
    headers: { host: 'rpm-cache.local', 'user-agent': 'curl/8.7.1', cookie: 'session=abc123; theme=dark' },
    sourceIp: '127.0.0.1',
    protocol: 'HTTP/1.1',
  };
};

describe('toFunctionUrlEvent', () => {
  it('hands the captured request over as the captured Function URL event shows it', () => {
    const captured = capturedFunctionUrlEvent();

    const event = toFunctionUrlEvent(capturedRequest());

    expect(event).toMatchObject({
      version: captured.version,
      routeKey: '$default',
      rawPath: '/capture/space%20value',
      rawQueryString: captured.rawQueryString,
      queryStringParameters: captured.queryStringParameters,
      cookies: captured.cookies,
      headers: { cookie: 'session=abc123; theme=dark' },
      isBase64Encoded: false,
      requestContext: {
        accountId: 'anonymous',
        routeKey: '$default',
        stage: '$default',
        http: { method: 'POST', path: '/capture/space value', protocol: 'HTTP/1.1' },
      },
    });
    expect(event.pathParameters).toBeUndefined();
  });

  it.each([
    ['/pub/libstdc%2b%2b-1.rpm', '/pub/libstdc++-1.rpm'],
    ['/pub/demo-1.0%5e2026git-1.rpm', '/pub/demo-1.0^2026git-1.rpm'],
    ['/capture/literal%252Fvalue', '/capture/literal%2Fvalue'],
    ['/capture/literal%2525value', '/capture/literal%25value'],
    ['/capture/question%3Fvalue', '/capture/question?value'],
    // Not refused here: the handler answers it 400 itself.
    ['/pub/%zz.rpm', '/pub/%zz.rpm'],
  ])('keeps rawPath %s as sent and decodes it once into requestContext.http.path %j', (target, decoded) => {
    const event = toFunctionUrlEvent(request(target));

    expect(event.rawPath).toBe(target);
    expect(event.requestContext.http.path).toBe(decoded);
  });
});

describe('both front doors', () => {
  it('put the query in the event as both captured events show it', () => {
    for (const [toEvent, captured] of [
      [toHttpApiEvent, capturedHttpApiEvent()],
      [toFunctionUrlEvent, capturedFunctionUrlEvent()],
    ] as const) {
      const event = toEvent(capturedRequest());

      expect(event.rawQueryString).toBe(captured.rawQueryString);
      // A repeated parameter joined with a comma (`repeat: 'one,two'`), `+` read as a space.
      expect(event.queryStringParameters).toEqual(captured.queryStringParameters);
    }
  });

  it('hand over the captured path: decoded for the HTTP API, as sent for the Function URL', () => {
    expect(toHttpApiEvent(capturedRequest())).toMatchObject({
      rawPath: capturedHttpApiEvent().rawPath,
      pathParameters: capturedHttpApiEvent().pathParameters,
    });
    expect(toFunctionUrlEvent(capturedRequest()).rawPath).toBe(capturedFunctionUrlEvent().rawPath);
  });
});

describe('frontDoorFromEnv', () => {
  it.each([
    [{}, 'http-api'],
    [{ FRONT_DOOR: ' ' }, 'http-api'],
    [{ FRONT_DOOR: 'http-api' }, 'http-api'],
    [{ FRONT_DOOR: 'function-url' }, 'function-url'],
  ] as const)('reads %j as %s', (env, frontDoor) => {
    expect(frontDoorFromEnv(env)).toBe(frontDoor);
  });

  it('refuses an unknown front door, naming the variable, its value and the choices', () => {
    expect(() => frontDoorFromEnv({ FRONT_DOOR: 'alb' })).toThrow(ConfigError);
    expect(() => frontDoorFromEnv({ FRONT_DOOR: 'alb' })).toThrow(
      'FRONT_DOOR="alb" is invalid: expected http-api or function-url',
    );
  });

  it('stops the local stack before it starts anything', async () => {
    const { startLocalStack } = await import('../../src/local/stack.js');

    await expect(startLocalStack({ env: { PORT: '0', FRONT_DOOR: 'function_url' } })).rejects.toThrow(
      new ConfigError('FRONT_DOOR="function_url" is invalid: expected http-api or function-url'),
    );
  });

  it('gives each front door its event builder', () => {
    expect(eventBuilderFor('http-api')).toBe(toHttpApiEvent);
    expect(eventBuilderFor('function-url')).toBe(toFunctionUrlEvent);
  });
});

describe('fromHttpApiResult', () => {
  it('passes status, headers and body through', () => {
    expect(
      fromHttpApiResult({ statusCode: 302, headers: { Location: 'https://x/y', 'X-Cache': 'miss' }, body: '' }),
    ).toEqual({
      statusCode: 302,
      headers: { Location: 'https://x/y', 'X-Cache': 'miss' },
      body: '',
    });
  });

  it('treats a bare string as a 200 JSON body, as API Gateway does', () => {
    expect(fromHttpApiResult('{"a":1}')).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
  });
});
