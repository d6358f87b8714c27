/**
 * HTTP responses of the handler, and what of them may be logged.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { CacheOutcome } from './redirect.js';

/**
 * A 302 to `location`, labelled with what the cache did, as CDNs do with
 * `X-Cache`, and, for a cacheable file, with what the origin HEAD found
 * (`X-Cache-Origin-Status`: a status code, `timeout` or `unreachable`), so a
 * client can tell a miss the cache is fetching from a file the origin lost.
 */
export const redirectResponse = (
  location: string,
  outcome: CacheOutcome,
  originStatus?: number | 'timeout' | 'unreachable',
): APIGatewayProxyStructuredResultV2 => ({
  statusCode: 302,
  headers: {
    Location: location,
    'X-Cache': outcome,
    ...(originStatus === undefined ? {} : { 'X-Cache-Origin-Status': String(originStatus) }),
    // A presigned URL expires: clients must ask again rather than reuse the redirect.
    'Cache-Control': 'no-store',
  },
  body: '',
});

/**
 * A URL without its query string. The query of a presigned URL holds the
 * signature and the session token, which are credentials.
 */
export const redactUrl = (url: string): string => {
  const queryStart = url.indexOf('?');
  return queryStart === -1 ? url : `${url.slice(0, queryStart)}?[redacted]`;
};
