/**
 * `rpm-cache warm`: asks the cache for every locked package until each one
 * is cached, lost, skipped or failed. Knows nothing of the terminal: it
 * reports each finished package through `onFinished`.
 */
import type { LockedPackage } from './lockfile.js';
import { cachePathFor, type OriginMatcher } from './origin-match.js';
import { networkReason } from './preflight.js';
import { verifyDownload } from './verify.js';

/**
 * - `cached`: already `stored` or `hit` at the first ask;
 * - `newly-cached`: became `stored` or `hit` during this run;
 * - `rescued`: the origin had lost it; the cache found it in an archive (RESCUE_URLS) with the lockfile's checksum;
 * - `lost`: the origin answered 404/410 and the cache has no copy (nor could an archive supply the right bytes);
 * - `failed`: the deadline passed, the cache refused the path or the origin's copy (`X-Cache-Upload: refused`),
 *   or `--verify` found a mismatch;
 * - `skipped`: not a cacheable file by the cache's rules (`X-Cache: bypass`).
 */
export type WarmState = 'cached' | 'newly-cached' | 'rescued' | 'lost' | 'failed' | 'skipped';

export const WARM_STATES: readonly WarmState[] = ['cached', 'newly-cached', 'rescued', 'lost', 'failed', 'skipped'];

export interface WarmResult {
  readonly package: LockedPackage;
  readonly state: WarmState;
  readonly reason?: string;
}

export interface WarmOptions {
  /** Base URL of the cache, e.g. `https://abc.execute-api.eu-west-1.amazonaws.com`. */
  readonly cacheUrl: string;
  readonly concurrency: number;
  readonly deadlineMs: number;
  readonly verify: boolean;
  /** The deployment's origins: each URL is asked at its origin's path (none: at the URL's own path). */
  readonly origins?: OriginMatcher;
  /** Stops new requests (Ctrl-C); packages not finished end as `failed`, "interrupted". */
  readonly signal?: AbortSignal;
  /** Delays between asks about a package that is being cached: first, growth factor, most. */
  readonly pollDelays?: { readonly firstMs: number; readonly factor: number; readonly maxMs: number };
  readonly onFinished?: (result: WarmResult) => void;
  /** A package is not done yet: `why` is what the cache last said of it (for progress lines that say why they wait). */
  readonly onWaiting?: (pkg: LockedPackage, why: string) => void;
  readonly fetch?: typeof fetch;
  /**
   * When no ask has had any HTTP answer for this long (the cache went away
   * mid-run), the run stops: every unfinished package fails with the network
   * error, rather than retrying until the deadline. Default 60 s.
   */
  readonly silenceLimitMs?: number;
}

/**
 * Where the cache serves `pkg`: below the cache's base URL (which may carry a
 * stage path), at the path its origin gives it; undefined when `origins` is
 * given and matches none.
 */
export const cacheUrlOf = (cacheUrl: string, pkg: LockedPackage, origins?: OriginMatcher): string | undefined => {
  const path = cachePathFor(new URL(pkg.url), origins);
  return path === undefined ? undefined : `${cacheUrl.replace(/\/+$/, '')}/${path}`;
};

/** Why a package is skipped when `--origins`/`--origin-host` match none of its URL. */
export const UNMATCHED_REASON = 'its URL is under none of the origins given (--origins, --origin-host)';

const DEFAULT_POLL = { firstMs: 2000, factor: 1.5, maxMs: 15_000 };
const DEFAULT_SILENCE_LIMIT_MS = 60_000;
/** One answer may take this long: API Gateway gives the handler 30 s. */
const ASK_TIMEOUT_MS = 35_000;

/** What one ask about a package concluded. */
type Answer =
  | { readonly kind: 'done'; readonly state: 'cached' | 'lost' | 'skipped' | 'failed'; readonly reason?: string }
  /** Ask again later; `why` says what is pending, for the deadline's message; `unanswered`: no HTTP answer at all. */
  | {
      readonly kind: 'again';
      readonly why: string;
      readonly uploading: boolean;
      readonly unanswered?: boolean;
      /** The cache is looking for it in its archives. */
      readonly rescuing?: boolean;
    };

/** Longest refusal reason kept: the header is the server's, and a report line should stay a line. */
const MAX_REASON_LENGTH = 300;

/** A header value as one printable-ASCII line of bounded length (anything else would garble a terminal or a log). */
const printableLine = (value: string): string => {
  const line = value.replace(/[^\x20-\x7e]/g, '?').trim();
  return line.length > MAX_REASON_LENGTH ? `${line.slice(0, MAX_REASON_LENGTH)}...` : line;
};

/**
 * The uploader refused the copy the origin serves (corrupt, an impostor, not an RPM, ...) and the origin still
 * serves that copy: no upload will come, however long warm waits, so the package fails now, with the cache's reason.
 */
const refusedAnswer = (response: Response): Answer => {
  const reason = response.headers.get('x-cache-upload-reason');
  return {
    kind: 'done',
    state: 'failed',
    reason: `the cache refused the origin's copy (X-Cache-Upload: refused): ${
      reason === null || reason.trim() === '' ? 'no reason given' : printableLine(reason)
    }`,
  };
};

const readAnswer = (response: Response): Answer => {
  const xCache = response.headers.get('x-cache');
  const originStatus = response.headers.get('x-cache-origin-status');
  if (response.status === 302 && xCache !== null) {
    switch (xCache) {
      case 'stored':
      case 'hit':
        return { kind: 'done', state: 'cached' };
      case 'bypass':
        return { kind: 'done', state: 'skipped', reason: 'not a cacheable file for this cache (X-Cache: bypass)' };
      case 'miss':
        if (response.headers.get('x-cache-upload') === 'refused') return refusedAnswer(response);
        if (originStatus === '404' || originStatus === '410') return lostAnswer(response, originStatus);
        if (originStatus !== null && /^2\d\d$/.test(originStatus)) {
          return { kind: 'again', why: 'the cache was still fetching it from origin', uploading: true };
        }
        return {
          kind: 'again',
          why: `origin could not be asked (${originStatus ?? 'no X-Cache-Origin-Status'}) and the cache has no copy`,
          uploading: false,
        };
      case 'fallback':
        return { kind: 'again', why: 'the cache fell back to origin (an S3 or Lambda error)', uploading: false };
    }
  }
  if (response.status === 400) return { kind: 'done', state: 'failed', reason: 'the cache refused the path (400)' };
  if (response.status === 429 || response.status >= 500) {
    return { kind: 'again', why: `the cache answered ${response.status}`, uploading: false };
  }
  return {
    kind: 'done',
    state: 'failed',
    reason: `not an rpm-cache answer (HTTP ${response.status}${xCache === null ? ', no X-Cache' : `, X-Cache ${xCache}`}): is --cache the rpm-cache URL?`,
  };
};

/** The origin lost it: lost, or (RESCUE_URLS) an archive is being asked, or was and had not the right bytes. */
const lostAnswer = (response: Response, originStatus: string): Answer => {
  const rescue = response.headers.get('x-cache-rescue');
  const lost = `origin answered ${originStatus} and the cache has no copy`;
  if (rescue === 'trying') {
    return {
      kind: 'again',
      why: `${lost}; it is looking in its archives (RESCUE_URLS)`,
      uploading: true,
      rescuing: true,
    };
  }
  if (rescue === 'failed') {
    const reason = response.headers.get('x-cache-rescue-reason') ?? 'no reason given';
    return { kind: 'done', state: 'lost', reason: `${lost}, and no archive could supply it: ${reason}` };
  }
  return { kind: 'done', state: 'lost', reason: lost };
};

/** What warm tells the cache a package must be, so it can rescue one the origin lost (see docs/mirroring.md). */
export const expectationHeaders = (pkg: LockedPackage): Record<string, string> =>
  pkg.sha256 === undefined
    ? {}
    : {
        'X-Cache-Expect-Sha256': pkg.sha256,
        ...(pkg.size === undefined ? {} : { 'X-Cache-Expect-Size': String(pkg.size) }),
        ...(pkg.sourceRpm === undefined ? {} : { 'X-Cache-Source-Rpm': pkg.sourceRpm }),
      };

/** A minimal semaphore: at most `limit` requests in flight across all packages. */
const requestSlots = (limit: number) => {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(work: () => Promise<T>): Promise<T> => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active += 1;
    try {
      return await work();
    } finally {
      active -= 1;
      waiting.shift()?.();
    }
  };
};

/**
 * The pauses between asks, all cut short when `signal` aborts, through one abort listener for the whole
 * run. (An abortable timer per package, `timers/promises` with `{ signal }`, adds a listener per waiting
 * package to the one signal: past 10, Node prints MaxListenersExceededWarning.)
 */
const sleeper = (signal: AbortSignal) => {
  const sleeping = new Set<() => void>();
  const wakeAll = () => {
    for (const wake of sleeping) wake();
  };
  signal.addEventListener('abort', wakeAll, { once: true });
  return {
    sleep: (ms: number): Promise<void> =>
      new Promise<void>((resolve) => {
        if (signal.aborted) {
          resolve();
          return;
        }
        const wake = () => {
          clearTimeout(timer);
          sleeping.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, ms);
        sleeping.add(wake);
      }),
    close: () => signal.removeEventListener('abort', wakeAll),
  };
};

/** One HEAD to the cache about `url`; no answer is "ask again"; undefined when the run stopped meanwhile. */
const askCache = async (
  fetchImpl: typeof fetch,
  url: string,
  headers: Record<string, string>,
  stop: AbortSignal,
): Promise<Answer | undefined> => {
  try {
    const response = await fetchImpl(url, {
      method: 'HEAD',
      redirect: 'manual',
      headers,
      signal: AbortSignal.any([stop, AbortSignal.timeout(ASK_TIMEOUT_MS)]),
    });
    await response.body?.cancel();
    return readAnswer(response);
  } catch (error) {
    // Cut short by the deadline or Ctrl-C: that is no news about the cache, and must not become the reason.
    if (stop.aborted) return undefined;
    return {
      kind: 'again',
      why: `no answer from the cache (${networkReason(error, ASK_TIMEOUT_MS)})`,
      uploading: false,
      unanswered: true,
    };
  }
};

/** Warms every package; resolves when each has a state. */
export const warm = async (packages: readonly LockedPackage[], options: WarmOptions): Promise<WarmResult[]> => {
  const { cacheUrl, verify, onFinished, fetch: fetchImpl = fetch } = options;
  const poll = options.pollDelays ?? DEFAULT_POLL;
  const deadline = AbortSignal.timeout(options.deadlineMs);
  const silenced = new AbortController();
  const stop = AbortSignal.any([deadline, silenced.signal, ...(options.signal === undefined ? [] : [options.signal])]);
  const slot = requestSlots(options.concurrency);
  const { sleep, close: closeSleeper } = sleeper(stop);
  const silenceLimitMs = options.silenceLimitMs ?? DEFAULT_SILENCE_LIMIT_MS;
  // The run starts right after the cache answered the preflight question.
  let lastHttpAnswerAt = Date.now();
  /** Notes an ask's outcome; stops the run once the cache has given no HTTP answer for silenceLimitMs. */
  const heard = (answer: Answer) => {
    if (answer.kind === 'done' || answer.unanswered !== true) {
      lastHttpAnswerAt = Date.now();
    } else if (Date.now() - lastHttpAnswerAt >= silenceLimitMs && !silenced.signal.aborted) {
      silenced.abort(
        `the cache stopped answering: no HTTP answer for ${Math.round(silenceLimitMs / 1000)} s, last ${answer.why}`,
      );
    }
  };

  /** Why a package not finished when the run stopped failed: Ctrl-C, a silent cache or the deadline. */
  const stoppedReason = (last: string): string => {
    const interrupted = options.signal?.aborted === true && !deadline.aborted;
    if (interrupted) return `interrupted before it finished (${last === '' ? 'no answer yet' : `last: ${last}`})`;
    if (silenced.signal.aborted) return String(silenced.signal.reason);
    return `deadline passed: ${last === '' ? 'no answer yet' : last}`;
  };

  /** The result of a package the cache is done with; a cached one is downloaded again with --verify. */
  const finish = async (
    pkg: LockedPackage,
    url: string,
    answer: Extract<Answer, { kind: 'done' }>,
    { first, rescuing }: { first: boolean; rescuing: boolean },
  ): Promise<WarmResult> => {
    if (answer.state !== 'cached') {
      return { package: pkg, state: answer.state, ...(answer.reason === undefined ? {} : { reason: answer.reason }) };
    }
    const state = first ? 'cached' : rescuing ? 'rescued' : 'newly-cached';
    // A rescued copy is checked against the lockfile even without --verify: the cache rescues the bytes its
    // snapshot lists when it has one, and those may not be the ones the lockfile pins.
    if (!verify && !(state === 'rescued' && pkg.sha256 !== undefined)) return { package: pkg, state };
    // A signal of its own that follows `stop`: fetch listens on the signal it is given, and many downloads
    // listening on `stop` itself would pile up its listeners.
    const mismatch = await slot(() => verifyDownload(url, pkg, AbortSignal.any([stop]), fetchImpl));
    if (mismatch === undefined) return { package: pkg, state };
    // A download cut short by the stop says nothing about the copy: the stop is the reason.
    const reason = stop.aborted ? stoppedReason(`checking the ${state} copy (--verify)`) : mismatch;
    return { package: pkg, state: 'failed', reason };
  };

  const warmOne = async (locked: LockedPackage): Promise<WarmResult> => {
    const path = cachePathFor(new URL(locked.url), options.origins);
    if (path === undefined) return { package: locked, state: 'skipped', reason: UNMATCHED_REASON };
    // Reported at the path the cache was asked (its origin's name and path under it, with --origins).
    const pkg = { ...locked, path: decodeURIComponent(path) };
    const url = `${cacheUrl.replace(/\/+$/, '')}/${path}`;
    let first = true;
    let rescuing = false;
    let delayMs = poll.firstMs;
    let last = '';
    const headers = expectationHeaders(pkg);
    while (!stop.aborted) {
      const answer = await slot(() =>
        stop.aborted ? Promise.resolve(undefined) : askCache(fetchImpl, url, headers, stop),
      );
      if (answer === undefined) break;
      heard(answer);
      if (answer.kind === 'done') return finish(pkg, url, answer, { first, rescuing });
      first = false;
      rescuing ||= answer.rescuing === true;
      last = answer.why;
      options.onWaiting?.(pkg, last);
      await sleep(delayMs);
      delayMs = Math.min(delayMs * poll.factor, poll.maxMs);
    }
    return { package: pkg, state: 'failed', reason: stoppedReason(last) };
  };

  try {
    return await Promise.all(
      packages.map(async (pkg) => {
        const result = await warmOne(pkg);
        onFinished?.(result);
        return result;
      }),
    );
  } finally {
    closeSleeper();
  }
};
