/**
 * The uploader's GET of one origin file: the body to store, or why there is none.
 */
import { pipeline, Readable, type Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { fetchFromOrigin, type OriginFetchResult } from '../commons/origin-fetch.js';
import { type OriginValidators, validatorsOf } from '../commons/repodata.js';
import { LengthGuard, parseContentLength } from './length-guard.js';
import { OriginUnavailableError } from './upload-errors.js';

/**
 * What the origin's GET gave: the file missing, the file compressed against
 * our asking, or a body to store. Other answers throw OriginUnavailableError.
 */
export type OriginAnswer =
  | { readonly kind: 'missing'; readonly status: number }
  | {
      readonly kind: 'encoded';
      readonly status: number;
      readonly encoding: string;
      /** Which copy it was: a refusal is recorded for this one (commons/upload-refusal.ts). */
      readonly validators: OriginValidators;
    }
  | {
      readonly kind: 'body';
      readonly response: Response & { body: WebReadableStream<Uint8Array> };
      readonly sourceUrl: string;
    };

/** A URL without its query and fragment: a mirror's redirect may carry tokens, and this one is logged. */
const withoutQuery = (url: string): string => {
  const parsed = new URL(url);
  parsed.search = '';
  parsed.hash = '';
  return parsed.href;
};

const isGone = (status: number): boolean => status === 404 || status === 410;

/**
 * Opens the origin's GET of `url`, waiting at most `idleTimeoutMs` for its
 * headers. `isMissing` says which statuses mean the file does not exist (404
 * and 410 unless told: an optional file may take any 4xx).
 */
export const openOrigin = async (
  url: string,
  request: AbortController,
  idleTimeoutMs: number,
  isMissing: (status: number) => boolean = isGone,
): Promise<OriginAnswer> => {
  const headersTimer = setTimeout(() => request.abort(), idleTimeoutMs);
  let answer: OriginFetchResult;
  try {
    answer = await fetchFromOrigin(url, { method: 'GET', signal: request.signal });
  } catch (error) {
    throw new OriginUnavailableError(`GET ${url} failed`, { cause: error });
  } finally {
    clearTimeout(headersTimer);
  }
  if ('refusedRedirect' in answer) {
    const { status, reason } = answer.refusedRedirect;
    throw new OriginUnavailableError(`GET ${url} answered ${status}: ${reason}`);
  }
  const { response } = answer;
  if (isMissing(response.status)) {
    await response.body?.cancel();
    return { kind: 'missing', status: response.status };
  }
  if (response.status !== 200 || response.body === null) {
    await response.body?.cancel();
    throw new OriginUnavailableError(`GET ${url} answered ${response.status}`);
  }
  const encoding = response.headers.get('content-encoding')?.trim().toLowerCase();
  if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
    // Asked for identity and sent something else: what fetch would decode is not
    // the file a client downloads (nor what Content-Length counts).
    await response.body.cancel();
    return { kind: 'encoded', status: response.status, encoding, validators: validatorsOf(response.headers) };
  }
  return {
    kind: 'body',
    response: response as Response & { body: WebReadableStream<Uint8Array> },
    sourceUrl: withoutQuery(answer.url),
  };
};

/**
 * The origin body, through the length guard and the file's own checks, in
 * order (the RPM verifier and its repository's listing, a repodata digest
 * guard), and what broke the origin's side of it, if anything did.
 */
export const checkedBody = (
  response: Response & { body: WebReadableStream<Uint8Array> },
  idleTimeoutMs: number,
  checks: readonly Transform[] = [],
) => {
  const source = Readable.fromWeb(response.body);
  let originFailure: unknown;
  source.on('error', (error) => {
    originFailure = error;
  });
  const guard = new LengthGuard(parseContentLength(response.headers.get('content-length')), idleTimeoutMs);
  pipeline([source, guard, ...checks], () => {});
  const body: Transform = checks.at(-1) ?? guard;
  return { body, guard, originFailure: () => originFailure };
};
