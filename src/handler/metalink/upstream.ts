/**
 * Asks the mirror manager (the metalink or mirror list service) with the
 * client's query as sent: `repo`, `arch` and `countme` (Fedora counts its
 * users by it) reach it unchanged. Its own short deadline: a client waits for
 * the cache's answer, and a service that hangs must not hold it for long.
 */
import { describeError } from '../origin.js';
import { withQuery } from '../request-steps.js';

/**
 * What the service said: any answer below 500 is its word, but for 408 and
 * 429 (every client reaches it from the cache's few addresses: rate limiting
 * is the cache's trouble, not the client's answer); those, 5xx, a timeout or
 * no connection are a failure.
 */
export type UpstreamAnswer =
  | {
      readonly kind: 'answered';
      readonly status: number;
      readonly contentType: string | undefined;
      readonly body: string;
    }
  | { readonly kind: 'failed'; readonly reason: string };

/** How the handler asks: global fetch in production, a stand-in in tests. */
export type FetchUpstream = (url: string, init: { readonly signal: AbortSignal }) => Promise<Response>;

/** The body, or undefined when it is longer than `limit` bytes (the read stops there). */
const cappedText = async (response: Response, limit: number): Promise<string | undefined> => {
  const reader = response.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
};

/** Asks `serviceUrl?query`, within `timeoutMs` for the whole answer, body included. */
export const askUpstream = async (
  serviceUrl: string,
  query: string | undefined,
  {
    timeoutMs,
    maxBytes,
    fetchUpstream = fetch,
  }: { timeoutMs: number; maxBytes: number; fetchUpstream?: FetchUpstream },
): Promise<UpstreamAnswer> => {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetchUpstream(withQuery(serviceUrl, query), { signal });
    if (response.status >= 500 || response.status === 408 || response.status === 429) {
      await response.body?.cancel();
      return { kind: 'failed', reason: `answered ${response.status}` };
    }
    const body = await cappedText(response, maxBytes);
    if (body === undefined) return { kind: 'failed', reason: `answered more than ${maxBytes} bytes` };
    return {
      kind: 'answered',
      status: response.status,
      contentType: response.headers.get('content-type') ?? undefined,
      body,
    };
  } catch (error) {
    if (signal.aborted) return { kind: 'failed', reason: `no answer within ${timeoutMs} ms` };
    return { kind: 'failed', reason: `unreachable: ${describeError(error)}` };
  }
};
