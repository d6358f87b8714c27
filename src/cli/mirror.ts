/**
 * `rpm-cache mirror`: every RPM a repository's snapshot lists, as packages
 * to warm. The snapshot is read through the cache (`<repo>/repodata/` now, or
 * `/@<T>/<repo>/repodata/` as it was at T): its repomd.xml, then its primary
 * metadata, each package's location, size and checksum. The packages are
 * then warmed as a lockfile's are (see warm.ts): asked at the cache, waited
 * for, verified against the listing's size and SHA-256.
 */
import { Readable } from 'node:stream';
import { decompressorOf, HAS_ZSTD } from '../commons/metadata-compression.js';
import { type PrimaryPackage, primaryPackages } from '../commons/primary-packages.js';
import { REPOMD } from '../commons/repodata.js';
import { parseRepomd, RepomdError } from '../uploader/repomd.js';
import type { LockedPackage } from './lockfile.js';
import { CacheUnreachableError, networkReason } from './preflight.js';
import { answeredError, encodedPath } from './snapshots.js';

/** The snapshot cannot be read: the cache answered an error, or what it sent is not repository metadata. */
export class MirrorSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MirrorSourceError';
  }
}

/** The decompressor for a metadata file, by its name; undefined for plain XML. */
const decompressorFor = (href: string) => {
  const decompressor = decompressorOf(href);
  if (decompressor === 'plain') return undefined;
  if (decompressor !== undefined) return decompressor();
  if (href.endsWith('.zst') && !HAS_ZSTD) {
    throw new MirrorSourceError(`${href}: zstd needs Node 22.15 or newer (this is Node ${process.versions.node})`);
  }
  throw new MirrorSourceError(
    `${href}: compressed in a way this command cannot read (it reads .gz, .zst and plain .xml)`,
  );
};

export interface MirrorSource {
  /** The cache's base URL, no trailing slash. */
  readonly cacheUrl: string;
  /** The repository directory (ending in `/`). */
  readonly repository: string;
  /** YYYYMMDDTHHMMSSZ: the snapshot current then; undefined: the current one. */
  readonly at?: string;
  readonly fetch?: typeof fetch;
  readonly signal?: AbortSignal;
}

/** A file of the repository's metadata through the cache, followed to its stored copy. */
const metadataResponse = async (
  { cacheUrl, repository, at, fetch: fetchImpl = fetch, signal }: MirrorSource,
  file: string,
): Promise<Response> => {
  const url = `${cacheUrl}/${at === undefined ? '' : `@${at}/`}${encodedPath(`${repository}${file}`)}`;
  let response: Response;
  try {
    response = await fetchImpl(url, signal === undefined ? {} : { signal });
  } catch (error) {
    if (signal?.aborted === true) throw error;
    throw new CacheUnreachableError(`cannot reach the cache at ${new URL(url).origin}: ${networkReason(error)}`);
  }
  if (response.status !== 200) {
    const hint =
      file === REPOMD && response.status === 404
        ? " (is REPOSITORY the directory that holds repodata/, as the cache's paths name it?)"
        : '';
    throw new MirrorSourceError(`${answeredError(url, response.status, await response.text())}${hint}`);
  }
  return response;
};

/**
 * The packages the repository's snapshot lists, as warm takes them: each at
 * its cache URL (the same path as without a time: an RPM's key does not
 * depend on the snapshot), with the listing's size and SHA-256.
 */
export const mirrorPackages = async (source: MirrorSource): Promise<LockedPackage[]> => {
  const repomdText = await (await metadataResponse(source, REPOMD)).text();
  let primary: { href: string } | undefined;
  try {
    primary = (await parseRepomd(repomdText, source.repository)).files.find((file) => file.type === 'primary');
  } catch (error) {
    if (error instanceof RepomdError) throw new MirrorSourceError(`${REPOMD}: ${error.message}`);
    throw error;
  }
  if (primary === undefined) throw new MirrorSourceError(`${REPOMD} lists no primary metadata`);
  const decompressor = decompressorFor(primary.href);
  const body = (await metadataResponse(source, primary.href)).body;
  if (body === null) throw new MirrorSourceError(`${primary.href}: an empty answer`);
  const bytes = Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>);
  const stream = decompressor === undefined ? bytes : bytes.pipe(decompressor);
  stream.setEncoding('utf8');
  const packages: PrimaryPackage[] = [];
  try {
    for await (const listed of primaryPackages(stream)) if (listed.elsewhere !== true) packages.push(listed);
  } catch (error) {
    throw new MirrorSourceError(`${primary.href}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return packages.map((pkg) => {
    const path = `${source.repository}${pkg.href}`;
    return {
      url: `${source.cacheUrl}/${encodedPath(path)}`,
      path,
      name: pkg.name,
      ...(pkg.size === undefined ? {} : { size: pkg.size }),
      ...(pkg.algorithm === 'sha256' ? { sha256: pkg.checksum } : {}),
      origin: `${source.repository}${primary?.href ?? ''}: ${pkg.href}`,
    };
  });
};
