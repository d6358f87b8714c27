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
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { HandlerConfig } from '../../commons/config.js';
import { cachePathOfUrl } from '../../commons/origins.js';
import { encodePathSegment } from '../../commons/paths.js';
import { REPOMD } from '../../commons/repodata.js';
import { readCurrentSnapshot } from '../../commons/snapshot-manifest.js';
import { describeError } from '../origin.js';
import { MAX_METALINK_BYTES, parseMetalink, type RepomdMetalink, writeMetalink } from './metalink-xml.js';
import { parseMirrorlist, writeMirrorlist } from './mirrorlist-text.js';
import { askUpstream, type FetchUpstream, type UpstreamAnswer } from './upstream.js';

/** The services the cache answers in the mirror manager's place. */
export type MirrorService = 'metalink' | 'mirrorlist';

/** What an answer was, in the logs and the `MetalinkAnswers` metric. */
export type MetalinkOutcome = 'rewritten' | 'passed-through' | 'upstream-failed';

export interface MetalinkDependencies {
  readonly config: Pick<
    HandlerConfig,
    'metalinkUrl' | 'mirrorlistUrl' | 'originBaseUrl' | 'origins' | 'bucketName' | 'originHeadTimeoutMs'
  >;
  readonly s3: S3Client;
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

const NO_STORE = { 'Cache-Control': 'no-store' };
const METALINK_TYPE = 'application/metalink+xml';
const MIRRORLIST_TYPE = 'text/plain; charset=utf-8';

const passThrough = (
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
const repositoryOf = (
  config: MetalinkDependencies['config'],
  urls: readonly { readonly url: string; readonly preference?: number }[],
): { readonly repoDir: string; readonly mirror: string } | undefined => {
  const ordered = urls
    .map((entry, index) => ({ ...entry, index }))
    .sort((a, b) => (b.preference ?? 0) - (a.preference ?? 0) || a.index - b.index);
  for (const { url } of ordered) {
    const path = cachePathOfUrl(config, url);
    if (path?.endsWith(`/${REPOMD}`)) return { repoDir: path.slice(0, -REPOMD.length), mirror: url };
  }
  return undefined;
};

/** The cache's URL of a repository directory: each decoded segment encoded once, as the handler decodes it. */
const cacheRepositoryUrl = (publicUrl: string, repoDir: string): string =>
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
  const url = `${cacheRepositoryUrl(publicUrl, repoDir)}${REPOMD}`;
  const protocol = url.startsWith('https:') ? 'https' : 'http';
  const rewritten: RepomdMetalink = {
    ...metalink,
    alternates: addSnapshot
      ? [...metalink.alternates, { hashes: [{ type: 'sha256', value: snapshot.id }] }]
      : metalink.alternates,
    urls: [{ url, protocol, type: protocol, preference: 100 }],
  };
  return {
    outcome: 'rewritten',
    response: {
      statusCode: 200,
      headers: { 'Content-Type': METALINK_TYPE, ...NO_STORE, 'X-Cache-Metalink': 'rewritten' },
      body: writeMetalink(rewritten),
    },
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
  const repository = repositoryOf(
    config,
    list.urls.map((baseUrl) => ({ url: `${baseUrl.replace(/\/+$/, '')}/${REPOMD}` })),
  );
  if (answer.status !== 200 || repository === undefined) {
    return passThrough(answer, answer.status === 200 ? 'no listed mirror lies under a configured origin' : 'not 200', {
      ...facts,
      mirrors: list.urls.length,
    });
  }
  return {
    outcome: 'rewritten',
    response: {
      statusCode: 200,
      headers: { 'Content-Type': MIRRORLIST_TYPE, ...NO_STORE, 'X-Cache-Metalink': 'rewritten' },
      body: writeMirrorlist({ comments: list.comments, urls: [cacheRepositoryUrl(publicUrl, repository.repoDir)] }),
    },
    facts: { ...facts, repository: repository.repoDir, mirror: repository.mirror },
  };
};

/** The service failed: the client is told so, and why (librepo shows the status and the URL). */
const upstreamFailed = (
  service: MirrorService,
  upstream: string,
  reason: string,
  facts: Record<string, string | number>,
) => ({
  outcome: 'upstream-failed' as const,
  response: {
    statusCode: 502,
    headers: { 'Content-Type': 'text/plain; charset=utf-8', ...NO_STORE, 'X-Cache-Metalink': 'upstream-failed' },
    body: `Bad Gateway: the ${service} service ${upstream} ${reason}\n`,
  },
  facts: { ...facts, reason },
});

/** The answer to `/metalink` or `/mirrorlist` with `query`. */
export const answerMirrorService = async (
  { service, upstream }: { readonly service: MirrorService; readonly upstream: string },
  deps: MetalinkDependencies,
  { query, publicUrl }: MetalinkRequest,
): Promise<MetalinkAnswer> => {
  const facts = { service, upstream, ...(query === undefined ? {} : { query }) };
  const answer = await askUpstream(upstream, query, {
    timeoutMs: deps.config.originHeadTimeoutMs,
    maxBytes: MAX_METALINK_BYTES,
    ...(deps.fetchUpstream === undefined ? {} : { fetchUpstream: deps.fetchUpstream }),
  });
  if (answer.kind === 'failed') return upstreamFailed(service, upstream, answer.reason, facts);
  if (publicUrl === undefined)
    return passThrough(answer, 'the request names no host the cache could be reached at', facts);
  if (service === 'mirrorlist') return rewriteMirrorlist(deps, answer, publicUrl, facts);
  if (answer.status !== 200) return passThrough(answer, 'not 200', facts);
  return rewriteMetalink(deps, answer, publicUrl, facts);
};
