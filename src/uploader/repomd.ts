/**
 * Reads repomd.xml: the files a repository's metadata consists of, each with
 * the size and checksum a client (librepo, zypper) will check it against.
 */
import { lazyXmlParser } from '../commons/lazy-xml-parser.js';
import { cacheKeyProblem } from '../commons/paths.js';
import { repodataPath } from '../commons/repodata.js';

/** One `<data>` entry of repomd.xml. */
export interface ListedFile {
  /** What the file holds (`primary`, `filelists`, `updateinfo`, ...), or `#<n>` when `<data>` has no type. */
  readonly type: string;
  /** The path inside the repository, e.g. `repodata/<sha256>-primary.xml.gz`. */
  readonly href: string;
  /** A Node hash name (`sha256`, `sha1`, ...). */
  readonly algorithm: string;
  /** Lowercase hex. */
  readonly checksum: string;
  /** Bytes, when repomd.xml gives them (old repositories may not). */
  readonly size?: number;
}

export class RepomdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RepomdError';
  }
}

/** repomd.xml's and primary.xml's checksum types, as Node names them (`sha` is createrepo's old name for SHA-1). */
export const ALGORITHMS: Readonly<Record<string, string>> = {
  md5: 'md5',
  sha: 'sha1',
  sha1: 'sha1',
  sha224: 'sha224',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
};
const HEX_LENGTH: Readonly<Record<string, number>> = {
  md5: 32,
  sha1: 40,
  sha224: 56,
  sha256: 64,
  sha384: 96,
  sha512: 128,
};

/** More listed files than any createrepo output has: beyond it, the file is not a repomd.xml. */
export const MAX_LISTED_FILES = 64;

/** Loaded with the first snapshot: most uploader runs cache an RPM and never need it. */
const loadParser = lazyXmlParser(['data']);

type XmlNode = Record<string, unknown>;

const isNode = (value: unknown): value is XmlNode => typeof value === 'object' && value !== null;

const textOf = (value: unknown): string | undefined => {
  if (typeof value === 'string') return value.trim();
  if (isNode(value) && typeof value['#text'] === 'string') return value['#text'].trim();
  return undefined;
};

/**
 * Why `href` cannot be a file of the snapshot: it must name a file under
 * `repodata/` of the same repository, as a relative path with no `.`/`..`.
 */
const hrefProblem = (href: string, repoDir: string): string | undefined => {
  if (!/^repodata\/[^/]+$/.test(href)) return 'not a file directly under repodata/';
  if (href === 'repodata/.' || href === 'repodata/..') return 'a dot segment';
  if (repodataPath(href)?.kind !== 'listed') return 'repomd.xml itself, or its signature or key';
  return cacheKeyProblem(`${repoDir}${href}`);
};

const listedFile = (entry: unknown, repoDir: string, index: number): ListedFile => {
  if (!isNode(entry)) throw new RepomdError(`<data> #${index + 1} is empty`);
  const type = typeof entry['@_type'] === 'string' ? entry['@_type'] : `#${index + 1}`;
  const location = entry.location;
  const href = isNode(location) && typeof location['@_href'] === 'string' ? location['@_href'] : undefined;
  if (href === undefined) throw new RepomdError(`<data type="${type}"> has no <location href>`);
  if (isNode(location) && location['@_base'] !== undefined) {
    throw new RepomdError(`<data type="${type}"> lives elsewhere (xml:base): not a file of this repository`);
  }
  const problem = hrefProblem(href, repoDir);
  if (problem !== undefined) throw new RepomdError(`<data type="${type}"> href ${JSON.stringify(href)}: ${problem}`);

  const checksum = entry.checksum;
  const declared = isNode(checksum) && typeof checksum['@_type'] === 'string' ? checksum['@_type'] : undefined;
  const algorithm = declared === undefined ? undefined : ALGORITHMS[declared.toLowerCase()];
  const digest = textOf(checksum)?.toLowerCase();
  if (algorithm === undefined || digest === undefined) {
    throw new RepomdError(`<data type="${type}"> has no checksum of a known type`);
  }
  if (!/^[0-9a-f]+$/.test(digest) || digest.length !== HEX_LENGTH[algorithm]) {
    throw new RepomdError(`<data type="${type}"> checksum is not a ${algorithm} digest`);
  }
  const sizeText = textOf(entry.size);
  if (sizeText !== undefined && !/^\d{1,15}$/.test(sizeText)) {
    throw new RepomdError(`<data type="${type}"> size ${JSON.stringify(sizeText)} is not a number of bytes`);
  }
  return { type, href, algorithm, checksum: digest, ...(sizeText === undefined ? {} : { size: Number(sizeText) }) };
};

/** What a repomd.xml says: the files it lists, and what orders it among the repository's versions. */
export interface Repomd {
  readonly files: readonly ListedFile[];
  /** `<revision>`: createrepo_c writes the generation time in seconds unless told otherwise. */
  readonly revision?: string;
  /** The newest `<timestamp>` of its `<data>` entries (seconds). */
  readonly newestTimestamp?: number;
}

const newestTimestampOf = (entries: readonly unknown[]): number | undefined => {
  const timestamps = entries
    .map((entry) => (isNode(entry) ? textOf(entry.timestamp) : undefined))
    .filter((text): text is string => text !== undefined && /^\d{1,15}(\.\d+)?$/.test(text))
    .map(Number);
  return timestamps.length === 0 ? undefined : Math.max(...timestamps);
};

/**
 * Whether `candidate` is an older version of the repository than `current`:
 * by `<revision>` when both are whole numbers, else by the newest `<timestamp>`
 * of their listed files. When neither tells, it is not older.
 */
export const isOlderRepomd = (
  candidate: Pick<Repomd, 'revision' | 'newestTimestamp'>,
  current: Pick<Repomd, 'revision' | 'newestTimestamp'>,
): boolean => {
  const number = /^\d{1,30}$/;
  if (candidate.revision !== undefined && current.revision !== undefined) {
    if (number.test(candidate.revision) && number.test(current.revision)) {
      return BigInt(candidate.revision) < BigInt(current.revision);
    }
  }
  if (candidate.newestTimestamp !== undefined && current.newestTimestamp !== undefined) {
    return candidate.newestTimestamp < current.newestTimestamp;
  }
  return false;
};

/**
 * What `xml` says, for the repository in `repoDir`. Anything a client
 * could not use either (no checksum, a location outside the repository's
 * `repodata/`, not a repomd.xml at all) is a RepomdError: such a repomd.xml is
 * never snapshot.
 */
export const parseRepomd = async (xml: string, repoDir: string): Promise<Repomd> => {
  const xmlParser = await loadParser();
  let document: unknown;
  try {
    document = xmlParser.parse(xml, true);
  } catch (error) {
    throw new RepomdError(`not well-formed XML: ${error instanceof Error ? error.message : String(error)}`);
  }
  const repomd = isNode(document) ? document.repomd : undefined;
  if (!isNode(repomd)) throw new RepomdError('no <repomd> element');
  const entries = Array.isArray(repomd.data) ? repomd.data : [];
  if (entries.length === 0) throw new RepomdError('lists no <data>');
  if (entries.length > MAX_LISTED_FILES)
    throw new RepomdError(`lists ${entries.length} files, more than ${MAX_LISTED_FILES}`);
  const files = entries.map((entry, index) => listedFile(entry, repoDir, index));
  const hrefs = new Set<string>();
  for (const { href } of files) {
    if (hrefs.has(href)) throw new RepomdError(`lists ${href} twice`);
    hrefs.add(href);
  }
  const revision = textOf(repomd.revision);
  const newestTimestamp = newestTimestampOf(entries);
  return {
    files,
    ...(revision === undefined || revision === '' ? {} : { revision }),
    ...(newestTimestamp === undefined ? {} : { newestTimestamp }),
  };
};
