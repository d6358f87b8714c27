/**
 * The handler's HEAD to the origin, over node:http(s) with kept-alive
 * connections. Node's fetch (undici) closes the connection after every HEAD,
 * so each request would pay a new TCP and TLS handshake to the origin: round
 * trips on every answer, and the CPU of a TLS handshake, which a small Lambda
 * pays slowly. Redirects follow the same policy as every origin request
 * (commons/origin-fetch).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import {
  type AddressLookup,
  type FollowedAnswer,
  followRedirects,
  type HopAnswer,
  type PinnedTls,
  pinnedLookup,
} from '../commons/origin-fetch.js';

/** One pool per scheme for the container's life: the origin and its mirrors, a connection each kept open. */
const AGENTS = Object.freeze({
  'http:': new HttpAgent({ keepAlive: true }),
  'https:': new HttpsAgent({ keepAlive: true }),
});

/** What a socket the server closed while it sat in the pool (a Lambda frozen past the keep-alive timeout) fails with. */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

export interface HeadAnswer extends HopAnswer {
  /** A header of the answer (several of one name joined with `, `), or null. */
  header(name: string): string | null;
}

const headerOf = (headers: IncomingHttpHeaders, name: string): string | null => {
  const value = headers[name];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
};

export interface HeadOptions {
  readonly signal: AbortSignal;
  readonly resolve?: AddressLookup;
  readonly tls?: PinnedTls;
}

const codeOf = (error: unknown): unknown =>
  typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;

/** One HEAD, sent again once when a kept-alive socket turns out to have been closed by the server. */
const headHop = (url: URL, pinnedTo: readonly string[] | undefined, options: HeadOptions, retried = false) =>
  new Promise<HeadAnswer>((resolve, reject) => {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      reject(new Error(`cannot HEAD ${url.protocol} URLs`));
      return;
    }
    const secure = url.protocol === 'https:';
    // A hop off the origin connects to the checked addresses only, on a connection of its own.
    const connection =
      pinnedTo === undefined
        ? { agent: AGENTS[url.protocol] }
        : {
            agent: false as const,
            lookup: pinnedLookup(pinnedTo),
            ...(secure && options.tls?.ca !== undefined ? { ca: options.tls.ca } : {}),
          };
    const request = (secure ? httpsRequest : httpRequest)(
      url,
      {
        method: 'HEAD',
        headers: { 'accept-encoding': 'identity', 'user-agent': 'node' },
        signal: options.signal,
        ...connection,
      },
      (response) => {
        // A HEAD answer has no body: reading its end hands the socket back to the pool.
        response.resume();
        const { headers } = response;
        resolve({
          status: response.statusCode ?? 0,
          location: headerOf(headers, 'location'),
          header: (name) => headerOf(headers, name.toLowerCase()),
          discard: async () => undefined,
        });
      },
    );
    request.once('error', (error) => {
      const stale = request.reusedSocket && STALE_SOCKET_CODES.has(String(codeOf(error)));
      if (stale && !retried && !options.signal.aborted) resolve(headHop(url, pinnedTo, options, true));
      else reject(error);
    });
    request.end();
  });

/**
 * HEADs `url` at the origin, following redirects by the origin policy.
 * Network errors and aborts are thrown.
 */
export const headFromOrigin = (url: string, options: HeadOptions): Promise<FollowedAnswer<HeadAnswer>> =>
  followRedirects(url, (current, pinnedTo) => headHop(current, pinnedTo, options), options.resolve);
