/**
 * `/metalink?<query>` and `/mirrorlist?<query>`, answered by the cache itself
 * when `METALINK_URL` is set (docs/metalink.md): the mirror manager is asked
 * with the client's query as sent, and its answer rewritten so that the cache
 * is the repository's only mirror.
 *
 * The only mirror, not the first: librepo moves a download to the next mirror
 * as soon as the first one has its connections' worth of downloads running
 * (downloader.c, select_suitable_mirror), so with the upstream's mirrors
 * listed after the cache, parallel package downloads would go past the cache
 * and never be kept. Nor do they add availability: the cache already sends a
 * client to the origin and its mirrors, and a cache that cannot answer
 * cannot answer the metalink either.
 *
 * A metalink vouches for every repomd.xml the cache may serve for the
 * repository: the upstream's (its hashes and alternates, kept as they are)
 * and the repository's current snapshot's (one more alternate, by its
 * SHA-256, which is the snapshot's id). So a client that gets the snapshot
 * while the origin is down accepts it, and still refuses anything else.
 *
 * When the service fails (5xx, no answer in time, unreachable), the answer is
 * written from the snapshot of the repository this `repo`/`arch` mapped to the
 * last time the service answered (last-repository.ts); a `repo`/`arch` never
 * mapped gets mirrormanager's own 404 for an unknown repository. The
 * service's answers are kept for a minute per container (upstream-memo.ts).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { HandlerConfig } from '../../commons/config.js';
import { cachePathOfUrl } from '../../commons/origins.js';
import { encodePathSegment } from '../../commons/paths.js';
import { REPOMD } from '../../commons/repodata.js';
import { readCurrentSnapshot } from '../../commons/snapshot-manifest.js';
import { describeError } from '../origin.js';
import { type LastRepositories, type RepoArch, repoArchOf } from './last-repository.js';
import {
  MAX_METALINK_BYTES,
  type MetalinkUrl,
  parseMetalink,
  type RepomdMetalink,
  writeMetalink,
} from './metalink-xml.js';
import { parseMirrorlist, writeMirrorlist } from './mirrorlist-text.js';
import { askUpstream, type FetchUpstream, type UpstreamAnswer } from './upstream.js';
import type { UpstreamMemo } from './upstream-memo.js';

/** The services the cache answers in the mirror manager's place. */
export type MirrorService = 'metalink' | 'mirrorlist';

/** What an answer was, in the logs and the `MetalinkAnswers` metric. */
export type MetalinkOutcome =
  | 'rewritten'
  | 'written-from-snapshot'
  | 'passed-through'
  | 'unknown'
  | 'upstream-failed'
  /** Under `/@<time>/`: the snapshot current then, or time travel's own refusal (time-travel.ts). */
  | 'time-travel';

export interface MetalinkDependencies {
  readonly config: Pick<
    HandlerConfig,
    'metalinkUrl' | 'mirrorlistUrl' | 'originBaseUrl' | 'origins' | 'bucketName' | 'originHeadTimeoutMs'
  >;
  readonly s3: S3Client;
  /** Which repository each `repo`/`arch` mapped to last (S3, remembered per container). */
  readonly lastRepositories: LastRepositories;
  /** The service's answers, kept for a minute per container. */
  readonly memo: UpstreamMemo;
  readonly fetchUpstream?: FetchUpstream;
}

export interface MetalinkRequest {
  /** The client's query, as it goes on to the service (see client-query.ts). */
  readonly query: string | undefined;
  /** The cache's base URL as the client reached it (public-url.ts); undefined: the answer cannot name the cache. */
  readonly publicUrl: string | undefined;
}

export interface MetalinkAnswer {
  readonly outcome: MetalinkOutcome;
  readonly response: APIGatewayProxyStructuredResultV2;
  /** What the log line says beside the outcome. */
  readonly facts: Readonly<Record<string, string | number>>;
}

/** Which service a request path names, when the cache answers it (`METALINK_URL` set). */
export const mirrorServiceOf = (
  path: string,
  config: Pick<HandlerConfig, 'metalinkUrl' | 'mirrorlistUrl'>,
): { readonly service: MirrorService; readonly upstream: string } | undefined => {
  if (path === 'metalink' && config.metalinkUrl !== undefined)
    return { service: 'metalink', upstream: config.metalinkUrl };
  if (path === 'mirrorlist' && config.mirrorlistUrl !== undefined) {
    return { service: 'mirrorlist', upstream: config.mirrorlistUrl };
  }
  return undefined;
};

/** A snapshot lookup is one S3 GET: a client waits at most this long for it before the metalink goes without it. */
const SNAPSHOT_DEADLINE_MS = 3000;

export const NO_STORE = { 'Cache-Control': 'no-store' };
export const METALINK_TYPE = 'application/metalink+xml';
export const PLAIN_TEXT = 'text/plain; charset=utf-8';
export const MIRRORLIST_TYPE = PLAIN_TEXT;

/** An answer the cache gives itself: its type, never stored by a client, and what it is (`X-Cache-Metalink`). */
export const ownAnswer = (
  statusCode: number,
  contentType: string,
  label: string,
  body: string,
  headers: Record<string, string> = {},
): MetalinkAnswer['response'] => ({
  statusCode,
  headers: { 'Content-Type': contentType, ...NO_STORE, 'X-Cache-Metalink': label, ...headers },
  body,
});

/** The content type of a service's answers. */
export const serviceType = (service: MirrorService): string =>
  service === 'metalink' ? METALINK_TYPE : MIRRORLIST_TYPE;

/** The cache as a repository's only mirror: its repomd.xml under `base` (the repository's cache URL). */
const cacheMirror = (base: string): MetalinkUrl => {
  const url = `${base}${REPOMD}`;
  const protocol = url.startsWith('https:') ? 'https' : 'http';
  return { url, protocol, type: protocol, preference: 100 };
};

/** A metalink the cache writes itself: it vouches for one snapshot's repomd.xml (`id`) and lists only the cache. */
export const snapshotMetalink = (base: string, id: string): string =>
  writeMetalink({
    pubdate: new Date().toUTCString(),
    generator: 'rpm-cache',
    newest: { hashes: [{ type: 'sha256', value: id }] },
    alternates: [],
    urls: [cacheMirror(base)],
  });

export const passThrough = (
  answer: Extract<UpstreamAnswer, { kind: 'answered' }>,
  reason: string,
  facts: Record<string, string | number>,
): MetalinkAnswer => ({
  outcome: 'passed-through',
  response: {
    statusCode: answer.status,
    headers: {
      ...(answer.contentType === undefined ? {} : { 'Content-Type': answer.contentType }),
      ...NO_STORE,
      'X-Cache-Metalink': 'passed-through',
    },
    body: answer.body,
  },
  facts: { ...facts, reason, upstreamStatus: answer.status },
});

/**
 * The repository directory (`.../x86_64/`) the cache serves for the first
 * listed URL (highest preference first, then in order) that lies under a
 * configured origin, or undefined.
 */
export const repositoryOf = (
  config: MetalinkDependencies['config'],
  urls: readonly { readonly url: string; readonly preference?: number }[],
): { readonly repoDir: string; readonly mirror: string } | undefined => {
  // The configured origins' order decides, then the service's preference: the service leaves out mirrors that
  // have not synced lately, and the same repository must not move between two cache paths (two snapshots).
  const rankOf = (path: string) => {
    const rank = config.origins.findIndex(({ name }) => path.startsWith(`${name}/`));
    return rank < 0 ? config.origins.length : rank;
  };
  const candidates = urls
    .map((entry, index) => ({ ...entry, index, path: cachePathOfUrl(config, entry.url) }))
    .filter((entry): entry is typeof entry & { path: string } => entry.path?.endsWith(`/${REPOMD}`) === true)
    .sort((a, b) => rankOf(a.path) - rankOf(b.path) || (b.preference ?? 0) - (a.preference ?? 0) || a.index - b.index);
  const [chosen] = candidates;
  return chosen === undefined ? undefined : { repoDir: chosen.path.slice(0, -REPOMD.length), mirror: chosen.url };
};

/** A mirror list's base URL as the metalink URL of its repomd.xml. */
const mirrorlistEntry = (baseUrl: string) => ({ url: `${baseUrl.replace(/\/+$/, '')}/${REPOMD}` });

/** The repository a service's 200 answer names (see repositoryOf), or undefined when it names none. */
export const repositoryOfAnswer = async (
  config: MetalinkDependencies['config'],
  service: MirrorService,
  body: string,
): Promise<{ readonly repoDir: string; readonly mirror: string } | undefined> => {
  if (service === 'mirrorlist') return repositoryOf(config, parseMirrorlist(body).urls.map(mirrorlistEntry));
  const metalink = await parseMetalink(body);
  return metalink === undefined ? undefined : repositoryOf(config, metalink.urls);
};

/** The cache's URL of a repository directory: each decoded segment encoded once, as the handler decodes it. */
export const cacheRepositoryUrl = (publicUrl: string, repoDir: string): string =>
  `${publicUrl}/${repoDir.split('/').map(encodePathSegment).join('/')}`;

/** The SHA-256 of the repository's current snapshot's repomd.xml, or why it is not known. */
const snapshotId = async (
  { config, s3 }: MetalinkDependencies,
  repoDir: string,
): Promise<{ readonly id: string; readonly createdAt: string } | { readonly error: string } | undefined> => {
  try {
    const current = await readCurrentSnapshot(
      s3,
      config.bucketName,
      repoDir,
      AbortSignal.timeout(SNAPSHOT_DEADLINE_MS),
    );
    return current === undefined ? undefined : { id: current.manifest.id, createdAt: current.manifest.createdAt };
  } catch (error) {
    return { error: describeError(error) };
  }
};

const vouchesFor = (metalink: RepomdMetalink, sha256: string): boolean =>
  [metalink.newest, ...metalink.alternates].some((version) =>
    version.hashes.some((hash) => hash.type === 'sha256' && hash.value.toLowerCase() === sha256),
  );

/** The upstream's metalink with the cache as its only mirror, vouching for the current snapshot too. */
const rewriteMetalink = async (
  deps: MetalinkDependencies,
  answer: Extract<UpstreamAnswer, { kind: 'answered' }>,
  publicUrl: string,
  facts: Record<string, string | number>,
): Promise<MetalinkAnswer> => {
  const metalink = await parseMetalink(answer.body);
  if (metalink === undefined) return passThrough(answer, 'not a metalink for repomd.xml', facts);
  const repository = repositoryOf(deps.config, metalink.urls);
  if (repository === undefined) {
    return passThrough(answer, 'no listed mirror lies under a configured origin', {
      ...facts,
      mirrors: metalink.urls.length,
    });
  }
  const { repoDir, mirror } = repository;
  const snapshot = await snapshotId(deps, repoDir);
  const addSnapshot = snapshot !== undefined && 'id' in snapshot && !vouchesFor(metalink, snapshot.id);
  const rewritten: RepomdMetalink = {
    ...metalink,
    alternates: addSnapshot
      ? [...metalink.alternates, { hashes: [{ type: 'sha256', value: snapshot.id }] }]
      : metalink.alternates,
    urls: [cacheMirror(cacheRepositoryUrl(publicUrl, repoDir))],
  };
  return {
    outcome: 'rewritten',
    response: ownAnswer(200, METALINK_TYPE, 'rewritten', writeMetalink(rewritten)),
    facts: {
      ...facts,
      repository: repoDir,
      mirror,
      ...(snapshot === undefined
        ? { snapshot: 'none' }
        : 'id' in snapshot
          ? {
              snapshot: snapshot.createdAt,
              snapshotId: snapshot.id,
              snapshotVouched: addSnapshot ? 'added' : 'upstream',
            }
          : { snapshot: 'unknown', snapshotError: snapshot.error }),
    },
  };
};

/** The upstream's mirror list with the cache's base URL for the repository as its only line. */
const rewriteMirrorlist = (
  { config }: MetalinkDependencies,
  answer: Extract<UpstreamAnswer, { kind: 'answered' }>,
  publicUrl: string,
  facts: Record<string, string | number>,
): MetalinkAnswer => {
  const list = parseMirrorlist(answer.body);
  const repository = repositoryOf(config, list.urls.map(mirrorlistEntry));
  if (answer.status !== 200 || repository === undefined) {
    return passThrough(answer, answer.status === 200 ? 'no listed mirror lies under a configured origin' : 'not 200', {
      ...facts,
      mirrors: list.urls.length,
    });
  }
  const body = writeMirrorlist({ comments: list.comments, urls: [cacheRepositoryUrl(publicUrl, repository.repoDir)] });
  return {
    outcome: 'rewritten',
    response: ownAnswer(200, MIRRORLIST_TYPE, 'rewritten', body),
    facts: { ...facts, repository: repository.repoDir, mirror: repository.mirror },
  };
};

/** The service failed: the client is told so, and why (librepo shows the status and the URL). */
export const upstreamFailed = (
  service: MirrorService,
  upstream: string,
  reason: string,
  facts: Record<string, string | number>,
) => ({
  outcome: 'upstream-failed' as const,
  response: ownAnswer(
    502,
    PLAIN_TEXT,
    'upstream-failed',
    `Bad Gateway: the ${service} service ${upstream} ${reason}\n`,
  ),
  facts: { ...facts, reason },
});

/** Text from the client or the service made safe for one line of an XML comment or a mirror list comment. */
const commentText = (text: string): string => text.replace(/[\r\n]+/g, ' ').replace(/-{2,}/g, '-');

/**
 * The service failed and the cache has no repository for this `repo`/`arch`:
 * 404 with mirrormanager's own error for an unknown repository (a metalink
 * holding only a comment, or the mirror list's comment line). librepo shows
 * the user the status and the URL ("Status code: 404 for ..."), as it would
 * for the service's own answer.
 */
export const unknownRepository = (
  service: MirrorService,
  upstream: string,
  reason: string,
  repoArch: RepoArch | undefined,
  facts: Record<string, string | number>,
): MetalinkAnswer => {
  const error =
    repoArch === undefined
      ? '# either repo= or arch= not specified'
      : `# repo = ${commentText(repoArch.repo)} arch = ${commentText(repoArch.arch)} error: invalid repo or arch`;
  const why = `# rpm-cache: the ${service} service ${commentText(upstream)} ${commentText(reason)}, and it has not answered for this repo and arch through this cache`;
  const body =
    service === 'metalink'
      ? [
          '<?xml version="1.0" encoding="utf-8"?>',
          `<metalink version="3.0" xmlns="http://www.metalinker.org/" type="dynamic" pubdate="${new Date().toUTCString()}" generator="rpm-cache" xmlns:mm0="http://fedorahosted.org/mirrormanager">`,
          `<!-- ${error}`,
          why,
          '-->',
          '</metalink>',
          '',
        ].join('\n')
      : `${error}\n${why}\n`;
  return {
    outcome: 'unknown',
    response: ownAnswer(404, serviceType(service), 'unknown', body),
    facts: { ...facts, reason },
  };
};

/**
 * The service failed: the answer is written from the repository this
 * `repo`/`arch` mapped to the last time the service answered. A metalink
 * vouches only for that repository's current snapshot (hash: the snapshot's
 * id; librepo checks neither size nor timestamp, so none is given) and lists
 * only the cache; a mirror list lists the cache's base URL for it. Without a
 * mapping the repository is unknown (404); without a snapshot, or with S3
 * failing, the client is told the service failed (502).
 */
const writeFromSnapshot = async (
  { service, upstream }: { readonly service: MirrorService; readonly upstream: string },
  deps: MetalinkDependencies,
  { query, publicUrl }: MetalinkRequest,
  reason: string,
  facts: Record<string, string | number>,
): Promise<MetalinkAnswer> => {
  const repoArch = repoArchOf(query);
  if (repoArch === undefined) return unknownRepository(service, upstream, reason, repoArch, facts);
  let repository: string | undefined;
  try {
    repository = await deps.lastRepositories.read(repoArch);
  } catch (error) {
    return upstreamFailed(service, upstream, reason, { ...facts, mappingError: describeError(error) });
  }
  if (repository === undefined) return unknownRepository(service, upstream, reason, repoArch, facts);
  if (publicUrl === undefined) {
    return upstreamFailed(service, upstream, reason, { ...facts, repository, mappingError: 'no public URL' });
  }
  const base = cacheRepositoryUrl(publicUrl, repository);
  const written = (body: string, type: string, more: Record<string, string | number>): MetalinkAnswer => ({
    outcome: 'written-from-snapshot',
    response: ownAnswer(200, type, 'written-from-snapshot', body),
    facts: { ...facts, reason, repository, ...more },
  });
  if (service === 'mirrorlist') {
    const comment = `# repo = ${commentText(repoArch.repo)} arch = ${commentText(repoArch.arch)} (written by rpm-cache: the mirrorlist service ${commentText(reason)})`;
    return written(writeMirrorlist({ comments: [comment], urls: [base] }), MIRRORLIST_TYPE, {});
  }
  const snapshot = await snapshotId(deps, repository);
  if (snapshot === undefined || 'error' in snapshot) {
    return upstreamFailed(service, upstream, reason, {
      ...facts,
      repository,
      ...(snapshot === undefined ? { snapshot: 'none' } : { snapshot: 'unknown', snapshotError: snapshot.error }),
    });
  }
  return written(snapshotMetalink(base, snapshot.id), METALINK_TYPE, {
    snapshot: snapshot.createdAt,
    snapshotId: snapshot.id,
  });
};

/** Records the repository a rewritten answer named for its `repo`/`arch`; what happened, for the log line. */
const recordRepository = async (
  deps: MetalinkDependencies,
  query: string | undefined,
  answer: MetalinkAnswer,
): Promise<Record<string, string>> => {
  const repoArch = repoArchOf(query);
  const repository = answer.facts.repository;
  if (answer.outcome !== 'rewritten' || repoArch === undefined || typeof repository !== 'string') return {};
  try {
    return { mapping: await deps.lastRepositories.record(repoArch, repository) };
  } catch (error) {
    return { mapping: 'failed', mappingError: describeError(error) };
  }
};

/** The answer to `/metalink` or `/mirrorlist` with `query`. */
export const answerMirrorService = async (
  named: { readonly service: MirrorService; readonly upstream: string },
  deps: MetalinkDependencies,
  request: MetalinkRequest,
): Promise<MetalinkAnswer> => {
  const { service, upstream } = named;
  const { query, publicUrl } = request;
  const kept = deps.memo.get(upstream, query);
  const facts = {
    mirrorService: service,
    upstream,
    ...(query === undefined ? {} : { query }),
    ...(kept === undefined ? { upstreamAnswer: 'asked' } : { upstreamAnswer: 'kept', upstreamAgeMs: kept.ageMs }),
  };
  const answer =
    kept?.answer ??
    (await askUpstream(upstream, query, {
      timeoutMs: deps.config.originHeadTimeoutMs,
      maxBytes: MAX_METALINK_BYTES,
      ...(deps.fetchUpstream === undefined ? {} : { fetchUpstream: deps.fetchUpstream }),
    }));
  if (answer.kind === 'failed') return writeFromSnapshot(named, deps, request, answer.reason, facts);
  if (kept === undefined) deps.memo.set(upstream, query, answer);
  if (publicUrl === undefined)
    return passThrough(answer, 'the request names no host the cache could be reached at', facts);
  const result =
    service === 'mirrorlist'
      ? rewriteMirrorlist(deps, answer, publicUrl, facts)
      : answer.status === 200
        ? await rewriteMetalink(deps, answer, publicUrl, facts)
        : passThrough(answer, 'not 200', facts);
  const recorded = await recordRepository(deps, query, result);
  return { ...result, facts: { ...result.facts, ...recorded } };
};
