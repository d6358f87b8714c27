import { fromHttpApiResult, MalformedRequestError, toHttpApiEvent } from '../../src/local/api-gateway.js';

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
