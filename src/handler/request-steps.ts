/**
 * Steps every kind of request shares once its path is known: the origin HEAD,
 * the uploader trigger, a stored copy's signed URL, and the origin's mirrors.
 * redirect.ts (files) and snapshot/ (repository metadata) decide with them.
 */
import type { OriginRoute } from '../commons/origins.js';
import type { OriginValidators } from '../commons/repodata.js';
import type { Expectation } from '../commons/rescue-request.js';
import type { OriginHeadResult } from './origin.js';
import { headOrigin } from './origin.js';
import { type ClientMethod, presignedUrl } from './presign.js';
import type { RedirectDecision, RedirectDependencies } from './redirect.js';
import { triggerUpload } from './uploader-trigger.js';

/** One request as the steps share it. */
export interface Asked {
  readonly path: string;
  readonly route: OriginRoute;
  /** The file at the origin's first URL (HEADs ask it without the client's query). */
  readonly origin: string;
  /** The client's query string, as sent (without `?`): it goes with every redirect to the origin or a mirror. */
  readonly query: string | undefined;
  readonly method: ClientMethod;
  readonly deadline: AbortSignal;
  readonly requestId: string | undefined;
  /** What the client said the file is (`X-Cache-Expect-*`): passed on to the uploader for a rescue. */
  readonly expected?: Expectation;
  readonly deps: RedirectDependencies;
}

/** What the origin HEAD and the cache lookup found, for the decision and its log line. */
export type ProbeFacts = Pick<RedirectDecision, 'originStatus' | 'originHeadMs' | 'cached' | 'originError'>;

/** What became of the upload trigger: not needed, triggered by this container lately, or triggered now. */
export type UploadTrigger = 'not-needed' | 'triggered-lately' | 'triggered';

/** The origin HEAD, and how long it took. */
export const timedProbe = async (
  { deps }: Asked,
  url: string,
): Promise<{ readonly result: OriginHeadResult; readonly ms: number }> => {
  const { probeOrigin = headOrigin, config } = deps;
  const started = performance.now();
  const result = await probeOrigin(url, config.originHeadTimeoutMs);
  return { result, ms: Math.round(performance.now() - started) };
};

/** The facts of a HEAD for the log line and `X-Cache-Origin-Status`. */
export const probeFacts = (head: { readonly result: OriginHeadResult; readonly ms: number }, cached: boolean) => ({
  originStatus: head.result.status,
  originHeadMs: head.ms,
  cached,
  ...('error' in head.result ? { originError: head.result.error } : {}),
});

/**
 * Invokes the uploader for the request's path, once per memo period in this
 * container (`memoKey`), and for repomd.xml once per version the origin
 * serves (told by its validators): a repository that changes again is
 * snapshot again at once.
 */
export const trigger = async (
  { path, deps, deadline, requestId, expected }: Asked,
  memoKey: string,
  version?: OriginValidators,
): Promise<UploadTrigger> => {
  const { config, lambda, memo } = deps;
  const key = version === undefined ? memoKey : `${memoKey}#${JSON.stringify(version)}`;
  if (memo !== undefined && !memo.triggered.tryAdd(key)) return 'triggered-lately';
  try {
    await triggerUpload(lambda, config.uploaderFunctionName, { path, requestId, expected }, deadline);
  } catch (error) {
    // Let the next request try again.
    memo?.triggered.delete(key);
    throw error;
  }
  return 'triggered';
};

/** The upload's part of a decision: triggered or not, and why not when the uploader refused the copy. */
export type UploadFacts = Pick<RedirectDecision, 'uploadTriggered' | 'uploadAlreadyTriggered' | 'uploadRefused'>;

export const triggerFacts = (triggered: UploadTrigger): UploadFacts => ({
  uploadTriggered: triggered === 'triggered',
  ...(triggered === 'triggered-lately' ? { uploadAlreadyTriggered: true } : {}),
});

/** The stored copy's URL, signed for the client's method. */
export const sign = ({ deps, method }: Asked, key: string): Promise<string> =>
  presignedUrl(deps.s3, { bucket: deps.config.bucketName, key, method }, deps.config.presignedUrlExpirationSeconds);

/**
 * When the origin's first URL cannot serve a file and the cache has no copy:
 * the first of its mirrors (in order) whose HEAD answers 2xx, all asked at
 * once within one ORIGIN_HEAD_TIMEOUT, with `onFound` run for it and what
 * its HEAD says of the copy (a file's upload is triggered, unless the
 * uploader refused that copy: it downloads from whichever URL serves it).
 * Undefined when no mirror is configured or none has it.
 */
export const fromMirror = async (
  asked: Asked,
  facts: ProbeFacts,
  outcome: RedirectDecision['outcome'],
  onFound: (validators: OriginValidators | undefined) => Promise<UploadFacts> = async () => triggerFacts('not-needed'),
): Promise<RedirectDecision | undefined> => {
  const { deps, route } = asked;
  const mirrors = route.urls.slice(1);
  if (mirrors.length === 0) return undefined;
  const { probeOrigin = headOrigin, config } = deps;
  const started = performance.now();
  const heads = mirrors.map((url) => probeOrigin(url, config.originHeadTimeoutMs));
  for (const [index, head] of heads.entries()) {
    const found = await head;
    if (!found.available) continue;
    const mirrorHeadMs = Math.round(performance.now() - started);
    const upload = await onFound(found.validators);
    return {
      outcome,
      location: withQuery(mirrors[index] ?? asked.origin, asked.query),
      ...upload,
      ...facts,
      mirror: index + 1,
      mirrorHeadMs,
    };
  }
  return undefined;
};

/** A URL at the origin or a mirror with the client's query string, as the client sent it. */
export const withQuery = (url: string, query: string | undefined): string =>
  query === undefined || query === '' ? url : `${url}${url.includes('?') ? '&' : '?'}${query}`;

/** The redirect to the file at the origin's first URL. */
export const toOrigin = (asked: Asked): string => withQuery(asked.origin, asked.query);
