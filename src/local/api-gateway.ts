/**
 * Turns a plain HTTP request into the event API Gateway HTTP API (payload 2.0)
 * sends for route `/{path+}`, and a Lambda result back into an HTTP answer.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';

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

const flattenHeaders = (headers: IncomingHttpHeaders): Record<string, string> => {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && name !== 'cookie') flat[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return flat;
};

/** decodeURIComponent, or a MalformedRequestError naming what could not be decoded. */
const decodeOnce = (text: string): string => {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new MalformedRequestError(`malformed percent-encoding in ${JSON.stringify(text)}`);
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
  const queryStart = request.target.indexOf('?');
  const target = queryStart === -1 ? request.target : request.target.slice(0, queryStart);
  const rawQueryString = queryStart === -1 ? '' : request.target.slice(queryStart + 1);
  const onceDecoded = decodeOnce(target);
  const cut = onceDecoded.indexOf('?');
  const decodedPath = decodeOnce(cut === -1 ? onceDecoded : onceDecoded.slice(0, cut));
  const rawPath = decodedPath;
  const path = decodedPath.replace(/^\//, '');
  const headers = flattenHeaders(request.headers);
  const cookies = request.headers.cookie?.split(';').map((cookie) => cookie.trim());
  return {
    version: '2.0',
    routeKey: 'ANY /{path+}',
    rawPath,
    rawQueryString,
    ...(cookies === undefined ? {} : { cookies }),
    headers,
    ...(rawQueryString === ''
      ? {}
      : { queryStringParameters: Object.fromEntries(new URLSearchParams(rawQueryString)) }),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0] ?? 'localhost',
      http: {
        method: request.method,
        path: rawPath,
        protocol: request.protocol,
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: 'ANY /{path+}',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(path === '' ? {} : { pathParameters: { path } }),
    isBase64Encoded: false,
  };
};

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
