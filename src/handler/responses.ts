/**
 * HTTP responses of the handler, and what of them may be logged.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { CacheOutcome, OriginStatus } from './redirect.js';
import type { RescueState } from './rescue-step.js';

/** The labels of every answer to a path the handler looked at. */
const labels = (outcome: CacheOutcome, originStatus: OriginStatus | undefined) => ({
  'X-Cache': outcome,
  ...(originStatus === undefined ? {} : { 'X-Cache-Origin-Status': String(originStatus) }),
  // A presigned URL expires: clients must ask again rather than reuse the redirect.
  'Cache-Control': 'no-store',
});

/**
 * A 302 to `location`, labelled with what the cache did, as CDNs do with
 * `X-Cache`, and, for a cacheable file, with what the origin HEAD found
 * (`X-Cache-Origin-Status`: a status code, `timeout` or `unreachable`), so a
 * client can tell a miss the cache is fetching from a file the origin lost.
 */
export const redirectResponse = (
  location: string,
  outcome: CacheOutcome,
  originStatus?: OriginStatus,
  {
    rescue,
    uploadRefused,
  }: {
    readonly rescue?: { readonly state: RescueState; readonly reason?: string | undefined } | undefined;
    /** Why the uploader refused the origin's copy (`X-Cache-Upload: refused`). */
    readonly uploadRefused?: string | undefined;
  } = {},
): APIGatewayProxyStructuredResultV2 => ({
  statusCode: 302,
  headers: {
    Location: location,
    ...labels(outcome, originStatus),
    ...(rescue === undefined ? {} : { 'X-Cache-Rescue': rescue.state }),
    ...(rescue?.reason === undefined ? {} : { 'X-Cache-Rescue-Reason': headerText(rescue.reason) }),
    ...(uploadRefused === undefined
      ? {}
      : { 'X-Cache-Upload': 'refused', 'X-Cache-Upload-Reason': headerText(uploadRefused) }),
  },
  body: '',
});

/** Longer reasons are cut: a header is not a log (the uploader's log line has it whole). */
const MAX_HEADER_TEXT = 1000;

/** `text` as a header value: printable ASCII only (a reason may quote a URL or a server's words), on one line. */
export const headerText = (text: string): string => {
  const printable = text.replace(/[^\x20-\x7e]/g, '?');
  return printable.length <= MAX_HEADER_TEXT ? printable : `${printable.slice(0, MAX_HEADER_TEXT - 3)}...`;
};

/** Why there is nothing to redirect to, as the 404's body says it. */
const NOT_FOUND_BODIES = {
  'not-in-snapshot': 'Not Found: the origin did not have this file when the repository snapshot was taken\n',
  'not-stored': 'Not Found: the cache holds no copy of this file\n',
} as const;

/**
 * A 404 for a file the repository snapshot knows the origin did not have
 * (repomd.xml's `.asc` or `.key`), answered while the origin cannot be asked
 * (a redirect to a hanging origin would make the client wait for nothing), or
 * for a stored copy asked for (`?rpm-cache=stored`) that does not exist.
 */
export const notFoundResponse = (
  why: keyof typeof NOT_FOUND_BODIES,
  outcome: CacheOutcome,
  originStatus?: OriginStatus,
): APIGatewayProxyStructuredResultV2 => ({
  statusCode: 404,
  headers: { 'Content-Type': 'text/plain', ...labels(outcome, originStatus) },
  body: NOT_FOUND_BODIES[why],
});

/** A 503 for an answer only the cache can give (a repository as it was) when the cache cannot be read. */
export const unavailableResponse = (): APIGatewayProxyStructuredResultV2 => ({
  statusCode: 503,
  headers: { 'Content-Type': 'text/plain', 'Retry-After': '5', 'Cache-Control': 'no-store' },
  body: 'Service Unavailable: the cache cannot read its snapshots now; try again shortly\n',
});

/**
 * A URL without its query string. The query of a presigned URL holds the
 * signature and the session token, which are credentials.
 */
export const redactUrl = (url: string | undefined): string | undefined => {
  if (url === undefined) return undefined;
  const queryStart = url.indexOf('?');
  return queryStart === -1 ? url : `${url.slice(0, queryStart)}?[redacted]`;
};
