/**
 * The handler's use case: where to send a client asking for a path.
 * Knows nothing of API Gateway; takes its clients and config as arguments.
 */
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import type { HandlerConfig } from '../commons/config.js';
import type { StaleReason } from '../commons/metrics.js';
import { type OriginRoute, originRoute } from '../commons/origins.js';
import type { OriginValidators } from '../commons/repodata.js';
import type { Expectation } from '../commons/rescue-request.js';
import { type RefusalRecord, readRefusalRecord, refusalAnswers, refusalReason } from '../commons/upload-refusal.js';
import { headOrigin, type OriginHeadResult } from './origin.js';
import type { OriginHealth } from './origin-health.js';
import type { RedirectMemo } from './recent-keys.js';
import {
  type Asked,
  fromMirror,
  type ProbeFacts,
  probeFacts,
  sign,
  timedProbe,
  toOrigin,
  trigger,
  triggerFacts,
  type UploadFacts,
  withQuery,
} from './request-steps.js';
import { askRescue, type RescueState } from './rescue-step.js';
import { decideRepodata } from './snapshot/serve.js';
import { type CacheTarget, cacheTargetOf, type StoredCopyLookup } from './stored-copy.js';

/**
 * What happened to a request; sent as the `X-Cache` header and logged.
 * - `hit`: redirected to the cached copy (origin could not serve it);
 * - `stale`: repository metadata answered from the last complete snapshot (origin could not serve it);
 * - `stored`: origin has it and the cached copy (the snapshot) is the same;
 * - `miss`: not cached (or the snapshot is not of what origin serves now); the upload or snapshot was triggered
 *   when origin has it (never when it does not: a made-up path costs no uploader run);
 * - `bypass`: not a cacheable file, or one whose path cannot be a cache key, or repository metadata
 *   the current snapshot does not hold (the cache keeps such files only as part of a snapshot);
 * - `fallback`: an S3 or Lambda error sent it to origin.
 */
export type CacheOutcome = 'hit' | 'stale' | 'stored' | 'miss' | 'bypass' | 'fallback';

/**
 * What the handler knows of the origin for this request (`X-Cache-Origin-Status`):
 * the HEAD's status, `timeout` or `unreachable`; or, without asking it,
 * `assumed-offline` (a HEAD timed out lately), `lost` (it answered 404/410 for this file lately) or
 * `not-asked` (the client asked for the stored copy itself).
 */
export type OriginStatus = OriginHeadResult['status'] | 'assumed-offline' | 'lost' | 'not-asked';

export interface RedirectDecision {
  readonly outcome: Exclude<CacheOutcome, 'fallback'>;
  /**
   * Where to send the client; undefined for a 404: a snapshot knows the origin had no such file, or
   * the stored copy asked for does not exist (`notStored`).
   */
  readonly location: string | undefined;
  readonly notStored?: true;
  readonly originStatus?: OriginStatus;
  readonly originError?: string;
  readonly cached?: boolean;
  /** The uploader was invoked: for the file, or for a snapshot of the repository (repomd.xml). */
  readonly uploadTriggered: boolean;
  /** The upload was not triggered because this container triggered it lately. */
  readonly uploadAlreadyTriggered?: boolean;
  readonly originHeadMs?: number;
  /** Why a cacheable file was sent to origin without a look at the cache (its path cannot be a key). */
  readonly uncachedReason?: string;
  /** Why a stored copy was served instead of the origin's. */
  readonly staleReason?: StaleReason;
  /** The origin's name (`ORIGINS`), or `default` (`ORIGIN_HOST`). */
  readonly origin?: string;
  /** Which mirror the client was sent to (1: the origin's second URL), when the first could not serve the file. */
  readonly mirror?: number;
  readonly mirrorHeadMs?: number;
  /**
   * The uploader refused the copy the origin serves now (when, until when, why): not invoked again for it.
   * Sent as `X-Cache-Upload: refused` and `X-Cache-Upload-Reason`.
   */
  readonly uploadRefused?: string;
  /** A file the origin lost, with RESCUE_URLS: the uploader asked to rescue it, or a rescue failed lately (why). */
  readonly rescue?: RescueState;
  readonly rescueReason?: string;
}

export interface RedirectDependencies {
  readonly config: HandlerConfig;
  readonly s3: S3Client;
  readonly lambda: LambdaClient;
  /** Probes the origin; the Lambda passes a traced {@link headOrigin}. */
  readonly probeOrigin?: (url: string, timeoutMs: number) => Promise<OriginHeadResult>;
  /** What this container remembers between requests (none: ask S3 and trigger every time). */
  readonly memo?: RedirectMemo;
  /** Whether this container assumes an origin offline, by origin name (none: ask it every time). */
  readonly health?: (origin: string) => OriginHealth;
}

/** What the handler needs of the request beyond its path. */
export interface ClientRequest {
  /**
   * HEAD gets a stored copy's URL signed for HEAD; anything else is answered as a GET. A HEAD triggers
   * what a GET would: `rpm-cache warm` warms with HEADs, and zypper HEADs repomd.xml before its GET.
   */
  readonly method?: string;
  /** Goes with the uploader's event, so one request can be followed across both functions. */
  readonly requestId?: string;
  /**
   * `stored`: the stored copy itself, without asking the origin (a 404 when there is none), so a
   * copy can be checked while the origin still serves the file (`rpm-cache warm --verify`).
   */
  readonly want?: 'stored';
  /** The query string as the client sent it (without `?`): it goes with a redirect to the origin, never with a HEAD. */
  readonly query?: string;
  /** What the client says the file is (`X-Cache-Expect-*` headers): a rescue may trust an archive with it. */
  readonly expected?: Expectation;
}

/**
 * S3 and Lambda calls of one request must end this long after the origin
 * HEAD's own timeout, so that every answer comes within ORIGIN_HEAD_TIMEOUT
 * plus a second, whatever the state of S3 or Lambda.
 */
export const AWS_GRACE_MS = 700;

/**
 * The answer from the cache alone, without asking the origin: the stored copy,
 * or undefined when there is none.
 */
const fromCacheAlone = async (
  asked: Asked,
  target: CacheTarget,
  originStatus: 'assumed-offline' | 'lost' | 'not-asked',
): Promise<RedirectDecision | undefined> => {
  const { copy } = await target.lookUp(asked.deadline);
  if (copy.kind !== 'stored') return undefined;
  // Asked for the stored copy itself, it is no stale answer: the origin was not consulted at all.
  const staleReason: StaleReason | undefined =
    originStatus === 'lost' ? 'origin-lost' : originStatus === 'assumed-offline' ? 'assumed-offline' : undefined;
  return {
    outcome: 'hit',
    location: await sign(asked, copy.key),
    cached: true,
    originStatus,
    uploadTriggered: false,
    ...(staleReason === undefined ? {} : { staleReason }),
  };
};

/**
 * HEAD-first: the origin HEAD, with the cache lookup (and the signing of a
 * stored copy's URL) running beside it, so a hit waits for nothing after the
 * HEAD. The uploader is invoked only once the origin has confirmed the file
 * (2xx) and the cache has no copy: a made-up path costs no uploader run, and
 * a miss costs one origin round trip plus one Invoke.
 */
const askOrigin = async (
  asked: Asked,
  target: CacheTarget,
  health: OriginHealth | undefined,
): Promise<RedirectDecision> => {
  const probed = timedProbe(asked, asked.origin);
  const lookedUp = target.lookUp(asked.deadline);
  const signed = lookedUp.then((lookup) => (lookup.copy.kind === 'stored' ? sign(asked, lookup.copy.key) : undefined));
  // Awaited only when the stored copy is served, where a signing failure is thrown.
  signed.catch(() => undefined);
  // Read beside the origin HEAD, only for a file the cache does not hold: no cost to a stored file's answer.
  const budget = refusalBudget(asked);
  const refused = lookedUp.then(
    (lookup) => (lookup.copy.kind === 'stored' || budget === undefined ? undefined : readRefusal(asked, budget)),
    () => undefined,
  );
  const [head, lookup] = await Promise.all([probed, lookedUp]);
  health?.noteProbe(head.result);
  const probe: ProbeFacts = probeFacts(head, lookup.copy.kind === 'stored');

  if (head.result.available) {
    if (lookup.copy.kind === 'stored' && lookup.isCurrent(head.result.validators)) {
      return { outcome: 'stored', location: toOrigin(asked), uploadTriggered: false, ...probe };
    }
    const upload = await uploadUnlessRefused(asked, target, await refused, head.result.validators);
    return { outcome: 'miss', location: toOrigin(asked), ...upload, ...probe };
  }
  return (
    fromStoredCopy(asked, target, lookup, await signed, { head: head.result, probe }) ??
    // The uploader downloads from the first mirror that serves the file: its refusal is of that mirror's copy.
    (await fromMirror(asked, probe, 'miss', async (validators) =>
      uploadUnlessRefused(asked, target, await refused, validators),
    )) ?? {
      outcome: 'miss',
      location: toOrigin(asked),
      uploadTriggered: false,
      ...probe,
      ...(isLost(head.result) && asked.deps.config.rescueTemplates.length > 0
        ? await askRescue(asked, target.memoKey)
        : {}),
    }
  );
};

/**
 * How long the refusal record may take: the origin HEAD's own timeout, from
 * when the HEAD starts, so a slow S3 never makes a miss later than it was
 * before records existed, and the Invoke still has its grace before the
 * deadline. Undefined when refusals are off (UPLOAD_REFUSAL_TTL=0): no
 * record is read, and none written lately answers.
 */
const refusalBudget = ({ deps, deadline }: Asked): AbortSignal | undefined =>
  deps.config.uploadRefusalTtlMs === 0
    ? undefined
    : AbortSignal.any([deadline, AbortSignal.timeout(deps.config.originHeadTimeoutMs)]);

/**
 * The uploader's refusal of this file's origin copy, if one is recorded. A
 * record that cannot be read, or not within `budget`, counts as none: the
 * upload is triggered as without records, and the cache stays out of the
 * way (the answer does not wait for an S3 client that ignores the abort).
 */
const readRefusal = ({ deps, path }: Asked, budget: AbortSignal): Promise<RefusalRecord | undefined> =>
  new Promise((resolve) => {
    const giveUp = () => resolve(undefined);
    if (budget.aborted) return giveUp();
    budget.addEventListener('abort', giveUp, { once: true });
    readRefusalRecord(deps.s3, { bucket: deps.config.bucketName, path, abortSignal: budget })
      .then(resolve, giveUp)
      .finally(() => budget.removeEventListener('abort', giveUp));
  });

/**
 * The upload's part of a miss whose copy (told by `validators`, from the HEAD
 * of the URL that serves it) the cache lacks: not triggered while a refusal
 * answers for that copy, triggered otherwise.
 */
const uploadUnlessRefused = async (
  asked: Asked,
  target: CacheTarget,
  refusal: RefusalRecord | undefined,
  validators: OriginValidators | undefined,
): Promise<UploadFacts> => {
  const ttlMs = asked.deps.config.uploadRefusalTtlMs;
  if (refusal !== undefined && refusalAnswers(refusal, validators, Date.now(), ttlMs)) {
    // The uploader would download the same copy only to refuse it again.
    return { uploadTriggered: false, uploadRefused: refusalReason(refusal, ttlMs) };
  }
  // After a refusal, another copy is tried at once (its own memo key), then once per memo period like any miss: not
  // once per ETag of an origin that gives every answer another, nor once per refusal when its HEAD and GET never
  // agree (each would download the file again, only to refuse it again).
  const memoKey = refusal === undefined ? target.memoKey : `${target.memoKey}#after-refusal`;
  return triggerFacts(await trigger(asked, memoKey));
};

const isLost = (head: OriginHeadResult): boolean => head.status === 404 || head.status === 410;

/** The answer when the origin cannot serve the file: the stored copy when there is one (undefined otherwise). */
const fromStoredCopy = (
  { deps }: Asked,
  target: CacheTarget,
  lookup: StoredCopyLookup,
  signedUrl: string | undefined,
  { head, probe }: { readonly head: OriginHeadResult; readonly probe: ProbeFacts },
): RedirectDecision | undefined => {
  if (lookup.copy.kind !== 'stored' || signedUrl === undefined) return undefined;
  // The origin lost it: the next requests in this container need not ask again.
  if (isLost(head)) deps.memo?.lost.add(target.memoKey);
  return { outcome: 'hit', location: signedUrl, ...probe, uploadTriggered: false, staleReason: 'origin-failed' };
};

/**
 * Decides the answer for a valid, decoded path (see `checkPath`).
 * S3 and Lambda errors are thrown: the fallback middleware turns them into a
 * redirect to origin.
 */
export const decideRedirect = async (
  path: string,
  deps: RedirectDependencies,
  request: ClientRequest = {},
): Promise<RedirectDecision> => {
  const route = originRoute(deps.config, path);
  const decision = await decideFor(path, route, deps, request);
  return { ...decision, origin: route.origin };
};

const decideFor = async (
  path: string,
  route: OriginRoute,
  deps: RedirectDependencies,
  request: ClientRequest,
): Promise<RedirectDecision> => {
  const { config, probeOrigin = headOrigin, memo } = deps;
  const target = cacheTargetOf(path, deps);
  const query = request.query === undefined || request.query === '' ? undefined : request.query;
  if (target.kind === 'bypass') {
    const { uncachedReason } = target;
    return {
      outcome: 'bypass',
      location: withQuery(route.urls[0], query),
      uploadTriggered: false,
      ...(uncachedReason ? { uncachedReason } : {}),
    };
  }
  // With mirrors, a request may wait for the first URL's HEAD and then the mirrors'.
  const heads = route.urls.length > 1 ? 2 : 1;
  const asked: Asked = {
    path,
    route,
    origin: route.urls[0],
    query,
    method: request.method === 'HEAD' ? 'HEAD' : 'GET',
    deadline: AbortSignal.timeout(heads * config.originHeadTimeoutMs + AWS_GRACE_MS),
    requestId: request.requestId,
    ...(request.expected === undefined ? {} : { expected: request.expected }),
    deps,
  };
  const health = deps.health?.(route.origin);
  if (target.kind === 'repodata') return decideRepodata(asked, target.repodata, request, health);

  if (request.want === 'stored') {
    const stored = await fromCacheAlone(asked, target, 'not-asked');
    return (
      stored ?? {
        outcome: 'miss',
        location: undefined,
        notStored: true,
        originStatus: 'not-asked',
        cached: false,
        uploadTriggered: false,
      }
    );
  }
  if (memo?.lost.has(target.memoKey) === true) {
    const remembered = await fromCacheAlone(asked, target, 'lost');
    if (remembered !== undefined) return remembered;
    memo.lost.delete(target.memoKey);
  }
  if (health?.assumedOffline() === true) {
    health.probeInBackground(() => probeOrigin(asked.origin, config.originHeadTimeoutMs));
    const fromCache = await fromCacheAlone(asked, target, 'assumed-offline');
    const unasked = { originStatus: 'assumed-offline', cached: false } as const;
    return (
      fromCache ??
      (await fromMirror(asked, unasked, 'miss', async () => triggerFacts(await trigger(asked, target.memoKey)))) ?? {
        outcome: 'miss',
        location: toOrigin(asked),
        uploadTriggered: false,
        ...unasked,
      }
    );
  }
  return askOrigin(asked, target, health);
};
