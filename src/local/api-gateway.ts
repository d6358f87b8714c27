/**
 * Turns a plain HTTP request into the event the handler's front door sends
 * (payload 2.0): API Gateway HTTP API for route `/{path+}`, or a Lambda
 * Function URL; and a Lambda result back into an HTTP answer.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { ConfigError, type Environment } from '../commons/config.js';
import { FRONT_DOORS, type FrontDoor } from '../handler/front-door.js';

export interface HttpRequestLine {
  readonly method: string;
  /** The request target as sent, e.g. `/pub/libstdc%2b%2b-1.rpm?x=1`. */
  readonly target: string;
  readonly headers: IncomingHttpHeaders;
  readonly sourceIp: string;
  readonly protocol: string;
}

export class MalformedRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedRequestError';
  }
}

/**
 * Headers joined as AWS joins them; API Gateway moves `cookie` to `cookies`, a Function URL keeps both. Both set
 * `x-forwarded-proto` to the scheme the client used (`https` there, as the captured events show; plain `http` here),
 * whatever the client sent: the handler names its own URL with it (handler/metalink/public-url.ts).
 */
const flattenHeaders = (headers: IncomingHttpHeaders, keepCookie = false): Record<string, string> => {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && (keepCookie || name !== 'cookie')) {
      flat[name] = Array.isArray(value) ? value.join(',') : value;
    }
  }
  flat['x-forwarded-proto'] = 'http';
  return flat;
};

/** The request target split at its first `?`: the path as sent and the raw query. */
const splitTarget = (target: string): { readonly path: string; readonly rawQueryString: string } => {
  const queryStart = target.indexOf('?');
  return queryStart === -1
    ? { path: target, rawQueryString: '' }
    : { path: target.slice(0, queryStart), rawQueryString: target.slice(queryStart + 1) };
};

/** The query's parameters decoded, a repeated one joined with `,` (as both captured events show). */
const queryParameters = (rawQueryString: string): Record<string, string> => {
  const parameters: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    const earlier = parameters[name];
    parameters[name] = earlier === undefined ? value : `${earlier},${value}`;
  }
  return parameters;
};

/** What differs between the two front doors' events, besides the path fields. */
interface FrontDoorFields {
  readonly routeKey: string;
  readonly rawQueryString: string;
  /** `requestContext.http.path`. */
  readonly decodedPath: string;
  readonly headers: Record<string, string>;
  readonly accountId: string;
}

/** What both front doors put in an event the same way: the query, headers, cookies and request context. */
const commonEventParts = (request: HttpRequestLine, now: Date, fields: FrontDoorFields) => {
  const { headers, accountId } = fields;
  const cookies = request.headers.cookie?.split(';').map((cookie) => cookie.trim());
  const host = headers.host ?? 'localhost';
  return {
    version: '2.0',
    routeKey: fields.routeKey,
    rawQueryString: fields.rawQueryString,
    ...(cookies === undefined ? {} : { cookies }),
    headers,
    ...(fields.rawQueryString === '' ? {} : { queryStringParameters: queryParameters(fields.rawQueryString) }),
    requestContext: {
      accountId,
      apiId: 'local',
      domainName: host,
      domainPrefix: host.split('.')[0] ?? 'localhost',
      http: {
        method: request.method,
        path: fields.decodedPath,
        protocol: request.protocol,
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: fields.routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  } satisfies Omit<APIGatewayProxyEventV2, 'rawPath'>;
};

/** decodeURIComponent, or a MalformedRequestError naming what could not be decoded. */
const decodeOnce = (text: string): string => {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new MalformedRequestError(`malformed percent-encoding in ${JSON.stringify(text)}`);
  }
};

/** decodeURIComponent, or the text as it is when it cannot be decoded. */
const decodedOrAsIs = (text: string): string => {
  try {
    return decodeURIComponent(text);
  } catch (error) {
    if (!(error instanceof URIError)) throw error;
    return text;
  }
};

/**
 * The payload 2.0 event for `request`, with the path as a real HTTP API hands
 * it over. Published captures of real HTTP API events (GitHub hotsock/voker,
 * `vokerhttp/testdata/ingress-paths.json`) show the path decoded twice:
 * `%20` arrives as a space, `%2F` as `/`, `%252F` as `/`, `%2525` as `%`; a
 * `%3F` decoded the first time cuts the path there (`%253F` arrives as `?`);
 * and `%25done`, which the second decoding cannot read, is refused by API
 * Gateway itself. `rawPath` holds the decoded path too, `GET /` has no path
 * parameter, and a path this cannot decode is refused (400).
 */
export const toHttpApiEvent = (request: HttpRequestLine, now = new Date()): APIGatewayProxyEventV2 => {
  const { path: target, rawQueryString } = splitTarget(request.target);
  const onceDecoded = decodeOnce(target);
  const cut = onceDecoded.indexOf('?');
  const decodedPath = decodeOnce(cut === -1 ? onceDecoded : onceDecoded.slice(0, cut));
  const path = decodedPath.replace(/^\//, '');
  const routeKey = 'ANY /{path+}';
  return {
    ...commonEventParts(request, now, {
      routeKey,
      rawQueryString,
      decodedPath,
      headers: flattenHeaders(request.headers),
      accountId: '000000000000',
    }),
    rawPath: decodedPath,
    ...(path === '' ? {} : { pathParameters: { path } }),
  };
};

/**
 * The payload 2.0 event a Lambda Function URL sends for `request`, as in a
 * captured one (GitHub hotsock/voker, `vokerhttp/testdata/functionurl-request.json`,
 * kept in `__tests__/fixtures/voker/`): `routeKey` `$default`, no path
 * parameters, `rawPath` as the client sent it (`%2b%2b`, `%20` kept),
 * `requestContext.http.path` decoded once, the `cookie` header kept beside
 * `cookies`, `accountId` `anonymous` (AuthType NONE). Nothing is refused here:
 * a `rawPath` that cannot be decoded reaches the handler, which answers it
 * 400 (AWS's own `http.path` for it is not documented: here it is `rawPath`).
 */
export const toFunctionUrlEvent = (request: HttpRequestLine, now = new Date()): APIGatewayProxyEventV2 => {
  const { path: rawPath, rawQueryString } = splitTarget(request.target);
  return {
    ...commonEventParts(request, now, {
      routeKey: '$default',
      rawQueryString,
      decodedPath: decodedOrAsIs(rawPath),
      headers: flattenHeaders(request.headers, true),
      accountId: 'anonymous',
    }),
    rawPath,
  };
};

/** A builder of the event one front door sends. */
export type FrontDoorEventBuilder = (request: HttpRequestLine, now?: Date) => APIGatewayProxyEventV2;

const EVENT_BUILDERS: Readonly<Record<FrontDoor, FrontDoorEventBuilder>> = {
  'http-api': toHttpApiEvent,
  'function-url': toFunctionUrlEvent,
};

/**
 * The front door the local stack plays, from `FRONT_DOOR` (`http-api`, the
 * default when unset or blank, or `function-url`), or a ConfigError naming it.
 */
export const frontDoorFromEnv = (env: Environment): FrontDoor => {
  const set = env.FRONT_DOOR?.trim() ?? '';
  if (set === '') return 'http-api';
  const known = FRONT_DOORS.find((door) => door === set);
  if (known === undefined) {
    throw new ConfigError(`FRONT_DOOR=${JSON.stringify(set)} is invalid: expected ${FRONT_DOORS.join(' or ')}`);
  }
  return known;
};

/** The event builder of a front door. */
export const eventBuilderFor = (frontDoor: FrontDoor): FrontDoorEventBuilder => EVENT_BUILDERS[frontDoor];

export interface HttpAnswer {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** What API Gateway sends back for a Lambda result (structured or a bare string). */
export const fromHttpApiResult = (result: APIGatewayProxyResultV2): HttpAnswer => {
  if (typeof result === 'string') {
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: result };
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  return {
    statusCode: result.statusCode ?? 200,
    headers,
    body: result.isBase64Encoded === true ? Buffer.from(result.body ?? '', 'base64').toString() : (result.body ?? ''),
  };
};
