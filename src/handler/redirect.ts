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
import { headOrigin, type OriginHeadResult } from './origin.js';
import type { OriginHealth } from './origin-health.js';
import { type ClientMethod, presignedUrl } from './presign.js';
import type { RedirectMemo } from './recent-keys.js';
import { type CacheTarget, cacheTargetOf, type StoredCopyLookup } from './stored-copy.js';
import { triggerUpload } from './uploader-trigger.js';

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
}

/**
 * S3 and Lambda calls of one request must end this long after the origin
 * HEAD's own timeout, so that every answer comes within ORIGIN_HEAD_TIMEOUT
 * plus a second, whatever the state of S3 or Lambda.
 */
export const AWS_GRACE_MS = 700;

/** What became of the upload trigger: not needed, triggered by this container lately, or triggered now. */
type UploadTrigger = 'not-needed' | 'triggered-lately' | 'triggered';

/** What the origin HEAD and the cache lookup found, for the decision and its log line. */
type ProbeFacts = Pick<RedirectDecision, 'originStatus' | 'originHeadMs' | 'cached' | 'originError'>;

/** One request as the steps below share it. */
interface Asked {
  readonly path: string;
  readonly route: OriginRoute;
  /** The file at the origin's first URL. */
  readonly origin: string;
  readonly target: CacheTarget;
  readonly method: ClientMethod;
  readonly deadline: AbortSignal;
  readonly requestId: string | undefined;
  readonly deps: RedirectDependencies;
}

/** The origin HEAD, and how long it took. */
const timedProbe = async (
  probeOrigin: NonNullable<RedirectDependencies['probeOrigin']>,
  origin: string,
  timeoutMs: number,
): Promise<{ readonly result: OriginHeadResult; readonly ms: number }> => {
  const started = performance.now();
  const result = await probeOrigin(origin, timeoutMs);
  return { result, ms: Math.round(performance.now() - started) };
};

/**
 * Invokes the uploader for the request's path, once per memo period in this
 * container, and for repomd.xml once per version the origin serves (told by
 * its validators): a repository that changes again is snapshot again at once.
 */
const trigger = async (
  { path, target, deps, deadline, requestId }: Asked,
  version?: OriginValidators,
): Promise<UploadTrigger> => {
  const { config, lambda, memo } = deps;
  const memoKey = version === undefined ? target.memoKey : `${target.memoKey}#${JSON.stringify(version)}`;
  if (memo !== undefined && !memo.triggered.tryAdd(memoKey)) return 'triggered-lately';
  try {
    await triggerUpload(lambda, config.uploaderFunctionName, path, deadline, requestId);
  } catch (error) {
    // Let the next request try again.
    memo?.triggered.delete(memoKey);
    throw error;
  }
  return 'triggered';
};

const triggerFacts = (triggered: UploadTrigger) => ({
  uploadTriggered: triggered === 'triggered',
  ...(triggered === 'triggered-lately' ? { uploadAlreadyTriggered: true } : {}),
});

/** The stored copy's URL, signed for the client's method. */
const sign = ({ deps, method }: Asked, key: string): Promise<string> =>
  presignedUrl(deps.s3, { bucket: deps.config.bucketName, key, method }, deps.config.presignedUrlExpirationSeconds);

/**
 * The answer from the cache alone, without asking the origin: the stored copy,
 * a 404 for a file the snapshot knows the origin lacked, or undefined when
 * there is no copy.
 */
const fromCacheAlone = async (
  asked: Asked,
  originStatus: 'assumed-offline' | 'lost' | 'not-asked',
): Promise<RedirectDecision | undefined> => {
  const { copy } = await asked.target.lookUp(asked.deadline);
  // Asked for the stored copy itself, it is no stale answer: the origin was not consulted at all.
  const staleReason: StaleReason | undefined =
    originStatus === 'lost' ? 'origin-lost' : originStatus === 'assumed-offline' ? 'assumed-offline' : undefined;
  const served = {
    originStatus,
    uploadTriggered: false,
    ...(staleReason === undefined ? {} : { staleReason }),
  } as const;
  if (copy.kind === 'stored') {
    return { outcome: asked.target.servedAs, location: await sign(asked, copy.key), cached: true, ...served };
  }
  if (copy.kind === 'absent') return { outcome: 'stale', location: undefined, cached: false, ...served };
  return undefined;
};

/**
 * HEAD-first: the origin HEAD, with the cache lookup (and the signing of a
 * stored copy's URL) running beside it, so a hit waits for nothing after the
 * HEAD. The uploader is invoked only once the origin has confirmed the file
 * (2xx) and the cache has no current copy: a made-up path costs no uploader
 * run, and a miss costs one origin round trip plus one Invoke.
 */
const askOrigin = async (asked: Asked, health: OriginHealth | undefined): Promise<RedirectDecision> => {
  const { deps, target, origin } = asked;
  const { config, probeOrigin = headOrigin } = deps;
  const probed = timedProbe(probeOrigin, origin, config.originHeadTimeoutMs);
  const lookedUp = target.lookUp(asked.deadline);
  const signed = lookedUp.then((lookup) => (lookup.copy.kind === 'stored' ? sign(asked, lookup.copy.key) : undefined));
  // Awaited only when the stored copy is served, where a signing failure is thrown.
  signed.catch(() => undefined);
  const [head, lookup] = await Promise.all([probed, lookedUp]);
  health?.noteProbe(head.result);
  const probe: ProbeFacts = {
    originStatus: head.result.status,
    originHeadMs: head.ms,
    cached: lookup.copy.kind === 'stored',
    ...('error' in head.result ? { originError: head.result.error } : {}),
  };

  if (head.result.available) {
    if (lookup.copy.kind === 'stored' && lookup.isCurrent(head.result.validators)) {
      return { outcome: 'stored', location: origin, uploadTriggered: false, ...probe };
    }
    const triggered =
      target.kind === 'file'
        ? await trigger(asked)
        : target.kind === 'repomd'
          ? await trigger(asked, head.result.validators ?? {})
          : 'not-needed';
    return { outcome: target.uncachedAs, location: origin, ...triggerFacts(triggered), ...probe };
  }
  return (
    fromStoredCopy(asked, lookup, await signed, { head: head.result, probe }) ??
    (await fromMirror(asked, probe)) ?? {
      outcome: target.uncachedAs,
      location: origin,
      uploadTriggered: false,
      ...probe,
    }
  );
};

/**
 * When the origin's first URL cannot serve a file and the cache has no copy:
 * the first of its mirrors (in order) whose HEAD answers 2xx, all asked at
 * once within one ORIGIN_HEAD_TIMEOUT, with the upload triggered for a file
 * (the uploader downloads from whichever URL serves it). Undefined when no
 * mirror is configured or none has it.
 */
const fromMirror = async (asked: Asked, probe: ProbeFacts): Promise<RedirectDecision | undefined> => {
  const { deps, target, route } = asked;
  const mirrors = route.urls.slice(1);
  if (mirrors.length === 0) return undefined;
  const { probeOrigin = headOrigin, config } = deps;
  const started = performance.now();
  const heads = mirrors.map((url) => probeOrigin(url, config.originHeadTimeoutMs));
  for (const [index, head] of heads.entries()) {
    if (!(await head).available) continue;
    const mirrorHeadMs = Math.round(performance.now() - started);
    const triggered = target.kind === 'file' ? await trigger(asked) : 'not-needed';
    return {
      outcome: target.uncachedAs,
      location: mirrors[index],
      ...triggerFacts(triggered),
      ...probe,
      mirror: index + 1,
      mirrorHeadMs,
    };
  }
  return undefined;
};

/** The answer when the origin cannot serve the file: the stored copy when there is one (undefined otherwise). */
const fromStoredCopy = (
  { target, deps }: Asked,
  lookup: StoredCopyLookup,
  signedUrl: string | undefined,
  { head, probe }: { readonly head: OriginHeadResult; readonly probe: ProbeFacts },
): RedirectDecision | undefined => {
  const facts = { ...probe, uploadTriggered: false, staleReason: 'origin-failed' } as const;
  if (lookup.copy.kind === 'absent') return { outcome: 'stale', location: undefined, ...facts };
  if (lookup.copy.kind !== 'stored' || signedUrl === undefined) return undefined;
  // The origin lost it: the next requests in this container need not ask again. Only for files:
  // repository metadata changes, and a repomd.xml missing for a moment (a mirror mid-sync) comes back.
  const lost = head.status === 404 || head.status === 410;
  if (lost && target.kind === 'file') deps.memo?.lost.add(target.memoKey);
  return { outcome: target.servedAs, location: signedUrl, ...facts };
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
  const [origin] = route.urls;
  const target = cacheTargetOf(path, deps);
  if (target.kind === 'bypass') {
    const { uncachedReason } = target;
    return {
      outcome: 'bypass',
      location: origin,
      uploadTriggered: false,
      ...(uncachedReason ? { uncachedReason } : {}),
    };
  }
  // With mirrors, a request may wait for the first URL's HEAD and then the mirrors'.
  const heads = route.urls.length > 1 ? 2 : 1;
  const asked: Asked = {
    path,
    route,
    origin,
    target,
    method: request.method === 'HEAD' ? 'HEAD' : 'GET',
    deadline: AbortSignal.timeout(heads * config.originHeadTimeoutMs + AWS_GRACE_MS),
    requestId: request.requestId,
    deps,
  };
  const health = deps.health?.(route.origin);

  if (request.want === 'stored') {
    const stored = await fromCacheAlone(asked, 'not-asked');
    return (
      stored ?? {
        outcome: target.uncachedAs,
        location: undefined,
        notStored: true,
        originStatus: 'not-asked',
        cached: false,
        uploadTriggered: false,
      }
    );
  }
  if (memo?.lost.has(target.memoKey) === true) {
    const remembered = await fromCacheAlone(asked, 'lost');
    if (remembered !== undefined) return remembered;
    memo.lost.delete(target.memoKey);
  }
  if (health?.assumedOffline() === true) {
    health.probeInBackground(() => probeOrigin(origin, config.originHeadTimeoutMs));
    const fromCache = await fromCacheAlone(asked, 'assumed-offline');
    const unasked = { originStatus: 'assumed-offline', cached: false } as const;
    return (
      fromCache ??
      (await fromMirror(asked, unasked)) ?? {
        outcome: target.uncachedAs,
        location: origin,
        uploadTriggered: false,
        ...unasked,
      }
    );
  }
  return askOrigin(asked, health);
};
