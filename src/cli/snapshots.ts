/**
 * `rpm-cache snapshots`: the snapshots of one repository the cache can serve
 * at `/@<time>/`, as its listing (`GET <cache>/@/<repo>/`, JSON) gives them:
 * a table with each snapshot's baseurl, or the JSON itself.
 */
import { uploadPathProblem } from '../commons/paths.js';
import type { ListedSnapshot } from '../handler/time-travel/listing.js';
import { networkReason } from './preflight.js';

/** One snapshot as the cache lists it: the handler's own shape (see docs/time-travel.md). */
export type { ListedSnapshot };

export interface SnapshotListing {
  readonly repository: string;
  readonly snapshots: readonly ListedSnapshot[];
}

/** What the user gave cannot name a repository. */
export class RepositoryArgumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RepositoryArgumentError';
  }
}

/** A decoded path as a URL path: each segment encoded once, as the cache decodes it once. */
export const encodedPath = (path: string): string => path.split('/').map(encodeURIComponent).join('/');

/** What the cache answered instead of what was asked: the status and the first line of its explanation. */
export const answeredError = (url: string, status: number, body: string): string => {
  const said = body.trim().split('\n')[0] ?? '';
  return `${url} answered HTTP ${status}${said === '' ? '' : `: ${said}`}`;
};

/** The cache could not list the repository: unreachable, or it answered an error. */
export class ListingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListingError';
  }
}

/** The path under `cacheUrl` that the URL `argument` names, decoded as the cache decodes it. */
const pathUnderCache = (argument: string, cacheUrl: string): string => {
  let url: URL;
  try {
    url = new URL(argument);
  } catch {
    throw new RepositoryArgumentError(`${JSON.stringify(argument)} is not a URL`);
  }
  const cache = new URL(`${cacheUrl}/`);
  if (url.origin !== cache.origin || !url.pathname.startsWith(cache.pathname)) {
    throw new RepositoryArgumentError(`${JSON.stringify(argument)} is not under the cache ${cacheUrl}`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new RepositoryArgumentError(`${JSON.stringify(argument)} has a query or fragment: give the repository's URL`);
  }
  // The cache reads its paths decoded once (`c%2B%2B` is `c++`): so does this, or it would ask for `c%252B%252B`.
  try {
    return decodeURIComponent(url.pathname.slice(cache.pathname.length));
  } catch {
    throw new RepositoryArgumentError(`${JSON.stringify(argument)} has a malformed %-escape`);
  }
};

/**
 * The repository directory (ending in `/`, no leading `/`) that `argument`
 * names: a path under the cache, with or without slashes around it, a URL
 * under `cacheUrl`, or a path to its `repodata/` or `repodata/repomd.xml`.
 * A path the cache would refuse (an empty, `.` or `..` segment, a backslash,
 * a control character, too long) is refused here, for the cache's reason.
 */
export const repositoryPathOf = (argument: string, cacheUrl: string): string => {
  const trimmed = argument.trim();
  const given = (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? pathUnderCache(trimmed, cacheUrl) : trimmed).replace(
    /^\/+/,
    '',
  );
  // A listing's own URL (`<cache>/@/<repo>/`, pasted from a browser) names its repository.
  const named = given.startsWith('@/') ? given.slice(2) : given;
  const atRoot = /^repodata(\/repomd\.xml)?\/?$/.test(named);
  const path = named.replace(/(^|\/)repodata(\/repomd\.xml)?\/?$/, '$1').replace(/\/+$/, '');
  // `repodata/` alone: a repository at the origin's root, listed at `/@/repodata/`.
  if (atRoot) return '';
  if (path.startsWith('@')) {
    throw new RepositoryArgumentError(
      `${JSON.stringify(argument)} is a time-travel path: give the repository itself (pub/fedora/linux/updates/44/Everything/x86_64/)`,
    );
  }
  if (path === '') throw new RepositoryArgumentError('no repository path: give the directory that holds repodata/');
  const problem = uploadPathProblem(`${path}/repodata/repomd.xml`);
  if (problem !== undefined) {
    throw new RepositoryArgumentError(`${JSON.stringify(argument)} is not a repository path: ${problem}`);
  }
  return `${path}/`;
};

const isOptionalString = (value: unknown): boolean => value === undefined || typeof value === 'string';

/** Every field the table reads has its type: anything else is not a listing, rather than a crash while printing it. */
const isListedSnapshot = (value: unknown): value is ListedSnapshot => {
  if (typeof value !== 'object' || value === null) return false;
  const { time, current, until, revision, repomdSha256, checkedAt, path } = value as Record<string, unknown>;
  return (
    typeof time === 'string' &&
    typeof current === 'boolean' &&
    typeof repomdSha256 === 'string' &&
    typeof path === 'string' &&
    [until, revision, checkedAt].every(isOptionalString)
  );
};

const isListing = (value: unknown): value is SnapshotListing => {
  if (typeof value !== 'object' || value === null) return false;
  const { repository, snapshots } = value as Record<string, unknown>;
  return typeof repository === 'string' && Array.isArray(snapshots) && snapshots.every(isListedSnapshot);
};

/** How long the listing may take, its body included (the handler gives itself 10 s to read it). */
export const LISTING_TIMEOUT_MS = 30_000;

/** Asks the cache for the listing of `repository`. */
export const fetchListing = async (
  cacheUrl: string,
  repository: string,
  {
    fetch: fetchImpl = fetch,
    signal,
    timeoutMs = LISTING_TIMEOUT_MS,
  }: { readonly fetch?: typeof fetch; readonly signal?: AbortSignal; readonly timeoutMs?: number } = {},
): Promise<SnapshotListing> => {
  // A repository at the origin's root ('') is listed by its repodata/.
  const listed = repository === '' ? 'repodata/' : repository;
  const url = `${cacheUrl}/@/${encodedPath(listed)}`;
  const timeout = AbortSignal.timeout(timeoutMs);
  let response: Response;
  let body: string;
  try {
    response = await fetchImpl(url, {
      headers: { accept: 'application/json' },
      signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
    });
  } catch (error) {
    throw new ListingError(`cannot reach the cache at ${new URL(url).origin}: ${networkReason(error, timeoutMs)}`);
  }
  try {
    body = await response.text();
  } catch (error) {
    throw new ListingError(
      `${url} answered HTTP ${response.status}, then broke off: ${networkReason(error, timeoutMs)}`,
    );
  }
  if (response.status !== 200) {
    throw new ListingError(answeredError(url, response.status, body));
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new ListingError(`${url} did not answer with a listing (not JSON): is --cache the rpm-cache URL?`);
  }
  if (!isListing(parsed)) throw new ListingError(`${url} did not answer with a listing of snapshots`);
  return parsed;
};

/** The listing as a table, newest first, each snapshot with the baseurl a repository file takes. */
export const listingTable = (cacheUrl: string, { repository, snapshots }: SnapshotListing): string => {
  const rows = snapshots.map((snapshot) => [
    snapshot.time,
    snapshot.current
      ? `current${snapshot.checkedAt === undefined ? '' : `, checked ${snapshot.checkedAt}`}`
      : `until ${snapshot.until ?? '?'}`,
    snapshot.revision ?? '',
    snapshot.repomdSha256.slice(0, 12),
    // The path is the decoded one (`c++`, `1.0^x`): as a URL, encoded once, as the cache's HTML listing links it.
    `${cacheUrl}${encodeURI(snapshot.path)}`,
  ]);
  const header = ['TIME', 'STATE', 'REVISION', 'REPOMD', 'BASEURL'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ');
  return [`${repository}: ${snapshots.length} snapshot(s)`, line(header), ...rows.map(line), ''].join('\n');
};
