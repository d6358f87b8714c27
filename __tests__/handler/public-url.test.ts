import { publicBaseUrl } from '../../src/handler/metalink/public-url.js';
import { capturedFunctionUrlEvent, capturedHttpApiEvent } from '../helpers/captured-events.js';

describe('publicBaseUrl', () => {
  it.each([
    ['an HTTP API', capturedHttpApiEvent, 'https://sjzepsqsu5.execute-api.us-west-2.amazonaws.com'],
    [
      'a Function URL',
      capturedFunctionUrlEvent,
      'https://2cxn22odiwguak4feg4jtt7cwm0ziblr.lambda-url.us-west-2.on.aws',
    ],
  ])('names the domain a captured %s event was sent to, over https', (_door, event, expected) => {
    expect(publicBaseUrl(event())).toBe(expected);
  });

  it('takes the scheme from x-forwarded-proto (the local stack: http) and the Host header without a domain name', () => {
    expect(publicBaseUrl({ headers: { host: '127.0.0.1:8080', 'x-forwarded-proto': 'http' } })).toBe(
      'http://127.0.0.1:8080',
    );
  });

  it('puts a named stage in the path, as it is in the URL the client used', () => {
    expect(publicBaseUrl({ requestContext: { domainName: 'api.example', stage: 'prod' } })).toBe(
      'https://api.example/prod',
    );
  });

  it.each([
    ['no host at all', {}],
    ['a host with a path', { headers: { host: 'evil.example/x' } }],
    ['a host with user info', { headers: { host: 'user@evil.example' } }],
  ])('names no URL for %s', (_name, event) => {
    expect(publicBaseUrl(event)).toBeUndefined();
  });
});
