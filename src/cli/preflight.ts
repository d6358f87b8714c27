/**
 * Before warming: one question to the cache, so a wrong or dead `--cache` URL
 * stops the run early with the real reason (connection refused to which
 * address, no such host, not an rpm-cache) instead of retrying every package
 * until the deadline: about 2 s for a refused connection, 32 s for a cache
 * that accepts connections and never answers, at once for an address no try
 * could reach (a port fetch refuses to use).
 */
import { setTimeout as wait } from 'node:timers/promises';

/** The cache cannot be reached, or what answers is not rpm-cache. */
export class CacheUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CacheUnreachableError';
  }
}

/** How long one try may take, and the pauses between tries on a network error (a cache starting up). */
const TRY_TIMEOUT_MS = 10_000;
const PAUSES_MS = [500, 1500] as const;

/** `fetch failed` says nothing: the cause (`connect ECONNREFUSED 127.0.0.1:8080`, `getaddrinfo ENOTFOUND x`) does. */
export const networkReason = (error: unknown, timeoutMs: number = TRY_TIMEOUT_MS): string => {
  // Duck-typed: errors from fetch may come from another realm than this module's Error.
  const { name, message, cause } = (typeof error === 'object' && error !== null ? error : {}) as {
    name?: unknown;
    message?: unknown;
    cause?: { message?: unknown };
  };
  if (typeof cause?.message === 'string' && cause.message !== '') return cause.message;
  if (name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  return typeof message === 'string' ? message : String(error);
};

/**
 * Whether another try could go otherwise: a timeout, or a network error (a system `E...` code: refused,
 * reset, no such host; an undici `UND_ERR_...`), as from a cache starting up. What fetch refuses before
 * connecting (a port it blocks, `bad port`; an invalid URL, `ERR_INVALID_URL`) fails the same way every time.
 */
const isTransient = (error: unknown): boolean => {
  const { name, cause } = (typeof error === 'object' && error !== null ? error : {}) as {
    name?: unknown;
    cause?: { code?: unknown };
  };
  if (name === 'TimeoutError') return true;
  const code = cause?.code;
  return typeof code === 'string' && !code.startsWith('ERR_');
};

/**
 * Asks the cache about `url` (a package's cache URL) with a HEAD that does not
 * follow the redirect; resolves when rpm-cache answers (any `X-Cache`, or its
 * 400), throws CacheUnreachableError otherwise.
 */
export const checkCache = async (
  url: string,
  {
    fetch: fetchImpl = fetch,
    signal,
    headers = {},
  }: { readonly fetch?: typeof fetch; readonly signal?: AbortSignal; readonly headers?: Record<string, string> } = {},
): Promise<void> => {
  for (let attempt = 0; ; attempt += 1) {
    let response: Response;
    try {
      const timeout = AbortSignal.timeout(TRY_TIMEOUT_MS);
      response = await fetchImpl(url, {
        method: 'HEAD',
        redirect: 'manual',
        headers,
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      });
      await response.body?.cancel();
    } catch (error) {
      const pause = PAUSES_MS[attempt];
      if (signal?.aborted === true || pause === undefined || !isTransient(error)) {
        throw new CacheUnreachableError(`cannot reach the cache at ${new URL(url).origin}: ${networkReason(error)}`);
      }
      await wait(pause);
      continue;
    }
    if (response.headers.get('x-cache') !== null || response.status === 400) return;
    throw new CacheUnreachableError(
      `${new URL(url).origin} answered HTTP ${response.status} without X-Cache: is --cache the rpm-cache URL (the stack's ApiUrl)?`,
    );
  }
};
