/**
 * The handler's front doors, as adapters. An API Gateway HTTP API (route
 * `/{path+}`) and a Lambda Function URL both send payload format 2.0 events,
 * but hand the path over differently; this turns either into the one decoded
 * request path the core handles (leading `/` removed), so nothing behind it
 * knows which door a request came through.
 *
 * - HTTP API: `pathParameters.path`, which API Gateway has already decoded.
 * - Function URL: `routeKey` is `$default`, `pathParameters` is null, and
 *   `rawPath` is the path as the client sent it (`%2b%2b`, `%5e`, `%20` kept):
 *   it is decoded here, exactly once, with `decodeURIComponent`.
 *
 * `requestContext.http.path` (a Function URL's own decoding of the path) is
 * not read: how AWS decodes a malformed escape, `%2F` or bytes that are not
 * UTF-8 there is not documented, and two decodings that could disagree would
 * make two cache keys for one file. `rawPath` decoded once is the one rule
 * (docs/design.md, "Which paths are refused (400)"); for every well-formed
 * path the two agree (see the captured event in `__tests__/fixtures/voker/`).
 *
 * An HTTP API on a `$default` route would look like a Function URL here, but
 * with `rawPath` already decoded: rpm-cache deploys its HTTP API on
 * `/{path+}`, never on `$default`.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/** The front doors the handler answers, as `FRONT_DOOR` (local stack) names them. */
export const FRONT_DOORS = ['http-api', 'function-url'] as const;
export type FrontDoor = (typeof FRONT_DOORS)[number];

/** What the adapter reads of an event: a Function URL sends `pathParameters: null`. */
export interface FrontDoorEvent {
  readonly routeKey?: APIGatewayProxyEventV2['routeKey'];
  readonly rawPath?: APIGatewayProxyEventV2['rawPath'];
  readonly pathParameters?: APIGatewayProxyEventV2['pathParameters'] | null;
}

/**
 * The request path an event carries: `path` decoded once with its leading `/`
 * removed (undefined when the event has none, which the 400 rule refuses), or
 * why a Function URL's `rawPath` cannot be decoded, with that `rawPath`.
 */
export type FrontDoorPath =
  | { readonly decoded: true; readonly frontDoor: FrontDoor; readonly path: string | undefined }
  | { readonly decoded: false; readonly frontDoor: 'function-url'; readonly reason: string; readonly rawPath: string };

/** Why a malformed `rawPath` (`%zz`, a lone `%`, escapes that are not UTF-8) gets a 400. */
export const MALFORMED_ENCODING = 'path has malformed percent-encoding';

const FUNCTION_URL_ROUTE_KEY = '$default';

/**
 * Which front door `event` came through, and its decoded request path.
 *
 * @example
 * frontDoorPath({ routeKey: '$default', rawPath: '/Packages/gadget%2b%2b-1.0%5e2-1.rpm', pathParameters: null })
 * // { decoded: true, frontDoor: 'function-url', path: 'Packages/gadget++-1.0^2-1.rpm' }
 */
export const frontDoorPath = (event: FrontDoorEvent): FrontDoorPath => {
  const pathParameter = event.pathParameters?.path;
  if (pathParameter !== undefined || event.routeKey !== FUNCTION_URL_ROUTE_KEY) {
    return { decoded: true, frontDoor: 'http-api', path: pathParameter };
  }
  const { rawPath } = event;
  // An event built by hand (a console test event) may lack rawPath: a missing path, then.
  if (typeof rawPath !== 'string') return { decoded: true, frontDoor: 'function-url', path: undefined };
  try {
    return { decoded: true, frontDoor: 'function-url', path: decodeURIComponent(rawPath.replace(/^\//, '')) };
  } catch (error) {
    if (!(error instanceof URIError)) throw error;
    return { decoded: false, frontDoor: 'function-url', reason: MALFORMED_ENCODING, rawPath };
  }
};
