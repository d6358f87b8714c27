/**
 * `rpm-cache snapshots`: the snapshots of one repository the cache can serve
 * at `/@<time>/`, as its listing (`GET <cache>/@/<repo>/`, JSON) gives them:
 * a table with each snapshot's baseurl, or the JSON itself.
 */
import { networkReason } from './preflight.js';

/** One snapshot as the cache lists it (see docs/time-travel.md). */
export interface ListedSnapshot {
  readonly time: string;
  readonly current: boolean;
  readonly until?: string;
  readonly revision?: string;
  readonly repomdSha256: string;
  readonly checkedAt?: string;
  readonly path: string;
}

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

/** The cache could not list the repository: unreachable, or it answered an error. */
export class ListingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListingError';
  }
}

/**
 * The repository directory (ending in `/`, no leading `/`) that `argument`
 * names: a path under the cache, with or without slashes around it, a URL
 * under `cacheUrl`, or a path to its `repodata/` or `repodata/repomd.xml`.
 */
export const repositoryPathOf = (argument: string, cacheUrl: string): string => {
  let path = argument.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    if (!path.startsWith(`${cacheUrl}/`)) {
      throw new RepositoryArgumentError(`${JSON.stringify(argument)} is not under the cache ${cacheUrl}`);
    }
    path = path.slice(cacheUrl.length);
  }
  path = path
    .replace(/^\/+/, '')
    .replace(/(^|\/)repodata(\/repomd\.xml)?\/?$/, '$1')
    .replace(/\/+$/, '');
  if (path.startsWith('@')) {
    throw new RepositoryArgumentError(
      `${JSON.stringify(argument)} is a time-travel path: give the repository itself (pub/fedora/linux/updates/44/Everything/x86_64/)`,
    );
  }
  if (path === '') throw new RepositoryArgumentError('no repository path: give the directory that holds repodata/');
  return `${path}/`;
};

const isListing = (value: unknown): value is SnapshotListing => {
  if (typeof value !== 'object' || value === null) return false;
  const { repository, snapshots } = value as Record<string, unknown>;
  return (
    typeof repository === 'string' &&
    Array.isArray(snapshots) &&
    snapshots.every(
      (snapshot: unknown) =>
        typeof snapshot === 'object' &&
        snapshot !== null &&
        typeof (snapshot as Record<string, unknown>).time === 'string' &&
        typeof (snapshot as Record<string, unknown>).path === 'string',
    )
  );
};

const TIMEOUT_MS = 30_000;

/** Asks the cache for the listing of `repository`. */
export const fetchListing = async (
  cacheUrl: string,
  repository: string,
  { fetch: fetchImpl = fetch, signal }: { readonly fetch?: typeof fetch; readonly signal?: AbortSignal } = {},
): Promise<SnapshotListing> => {
  const url = `${cacheUrl}/@/${repository.split('/').map(encodeURIComponent).join('/')}`;
  let response: Response;
  try {
    const timeout = AbortSignal.timeout(TIMEOUT_MS);
    response = await fetchImpl(url, {
      headers: { accept: 'application/json' },
      signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
    });
  } catch (error) {
    throw new ListingError(`cannot reach the cache at ${new URL(url).origin}: ${networkReason(error)}`);
  }
  const body = await response.text();
  if (response.status !== 200) {
    const said = body.trim().split('\n')[0] ?? '';
    throw new ListingError(`${url} answered HTTP ${response.status}${said === '' ? '' : `: ${said}`}`);
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
    `${cacheUrl}${snapshot.path}`,
  ]);
  const header = ['TIME', 'STATE', 'REVISION', 'REPOMD', 'BASEURL'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ');
  return [`${repository}: ${snapshots.length} snapshot(s)`, line(header), ...rows.map(line), ''].join('\n');
};
