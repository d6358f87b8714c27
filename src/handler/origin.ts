/**
 * Asks the origin mirror whether it still serves a file.
 */
import { type OriginValidators, validatorsOf } from '../commons/repodata.js';
import { headFromOrigin } from './origin-head.js';

export type OriginHeadResult =
  /** The origin answered 2xx: a client redirected there gets the file (its validators tell which version). */
  | { readonly available: true; readonly status: number; readonly validators?: OriginValidators }
  /** The origin answered, but not with the file (404, 410, 5xx, 403, a redirect it may not follow: `error` says why). */
  | { readonly available: false; readonly status: number; readonly error?: string }
  /** No answer within the timeout, or no connection at all. */
  | { readonly available: false; readonly status: 'timeout' | 'unreachable'; readonly error: string };

/** `fetch failed` says little; the cause (ECONNREFUSED, socket closed) says what happened. */
export const describeError = (error: unknown): string => {
  if (typeof error !== 'object' || error === null) return String(error);
  const { name, message, code, cause } = error as {
    name?: unknown;
    message?: unknown;
    code?: unknown;
    cause?: unknown;
  };
  const text = [name, message].filter((part) => typeof part === 'string' && part !== '').join(': ');
  const withCode = typeof code === 'string' && !text.includes(code) ? `${text} (${code})` : text;
  return cause === undefined ? withCode : `${withCode}; cause: ${describeError(cause)}`;
};

/**
 * HEADs `url`, following the redirects the origin policy allows (see
 * origin-fetch), and gives up after `timeoutMs`. Never throws: a dead origin
 * is an answer, not an error. A redirect the policy refuses counts as "origin
 * cannot serve it", with its status and the reason.
 */
export const headOrigin = async (url: string, timeoutMs: number): Promise<OriginHeadResult> => {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const followed = await headFromOrigin(url, { signal });
    if ('refusedRedirect' in followed) {
      return { available: false, status: followed.refusedRedirect.status, error: followed.refusedRedirect.reason };
    }
    const { status } = followed.answer;
    return status >= 200 && status < 300
      ? { available: true, status, validators: validatorsOf({ get: followed.answer.header }) }
      : { available: false, status };
  } catch (error) {
    return {
      available: false,
      status: signal.aborted ? 'timeout' : 'unreachable',
      error: describeError(error),
    };
  }
};
