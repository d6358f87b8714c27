/**
 * Real payload 2.0 events captured from AWS (hotsock/voker, kept in
 * `__tests__/fixtures/voker/`), and events for other requests derived from
 * them: only the request line changes, every other field is AWS's.
 */
import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/**
 * A captured event as Lambda hands it over. The type says `pathParameters`
 * is optional; a Function URL sends it as null, which the handler must take.
 */
const captured = (name: string): APIGatewayProxyEventV2 =>
  JSON.parse(readFileSync(new URL(`../fixtures/voker/${name}`, import.meta.url), 'utf8')) as APIGatewayProxyEventV2;

/** The captured Function URL event: `POST /capture/space%20value?repeat=one&repeat=two&...`. */
export const capturedFunctionUrlEvent = (): APIGatewayProxyEventV2 => captured('functionurl-request.json');

/**
 * The same request captured through an HTTP API (on its `$default` route), as
 * rpm-cache's route `/{path+}` hands it over: with `pathParameters.path`.
 */
export const capturedHttpApiEvent = (): APIGatewayProxyEventV2 => {
  const event = captured('apigwv2-request.json');
  const routeKey = 'ANY /{path+}';
  return {
    ...event,
    routeKey,
    pathParameters: { path: event.rawPath.replace(/^\//, '') },
    requestContext: { ...event.requestContext, routeKey },
  };
};

/** decodeURIComponent, or the text as it is when it cannot be decoded. */
const decodedOrAsIs = (text: string): string => {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
};

/**
 * The captured Function URL event, for `method target` with no body: `target`
 * as the client sends it (`/Packages/gadget%2b%2b-...rpm?countme=1`) goes to
 * `rawPath` and `rawQueryString` unchanged, `requestContext.http.path` gets
 * the path decoded once, as AWS does.
 */
export const functionUrlEvent = (target: string, method = 'GET'): APIGatewayProxyEventV2 => {
  const event = capturedFunctionUrlEvent();
  const queryStart = target.indexOf('?');
  const rawPath = queryStart === -1 ? target : target.slice(0, queryStart);
  const rawQueryString = queryStart === -1 ? '' : target.slice(queryStart + 1);
  const { body: _body, queryStringParameters: _parameters, ...rest } = event;
  const { 'content-length': _length, 'content-type': _type, ...headers } = event.headers;
  return {
    ...rest,
    headers,
    rawPath,
    rawQueryString,
    ...(rawQueryString === ''
      ? {}
      : { queryStringParameters: Object.fromEntries(new URLSearchParams(rawQueryString)) }),
    requestContext: {
      ...event.requestContext,
      http: { ...event.requestContext.http, method, path: decodedOrAsIs(rawPath) },
    },
  };
};
