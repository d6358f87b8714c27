/**
 * The manifest that makes one snapshot the current one of a repository, as
 * both Lambdas read it, and where a snapshot's files are stored.
 *
 * A snapshot is one repomd.xml and every file it lists, plus the companions
 * (`.asc`, `.key`, `media.1/media`) fetched right after it. Each file is stored
 * once per repository under its checksum
 * (`snapshots/blobs/<repo>/repodata/<algorithm>-<hex>`): a file that the next
 * version overwrites in place (`--simple-md-filenames`) never replaces the
 * copy an older snapshot serves, and a file two versions list is stored once.
 * The manifest under `snapshots/current/<repo>/repodata/repomd.xml` names the
 * current snapshot; it is written last, once every file is stored, so a
 * client only ever sees complete snapshots.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isS3NotFound } from './aws-errors.js';
import { isJsonObject, parseJsonObject } from './json-object.js';
import { type OriginValidators, REPOMD, repomdPath, SNAPSHOT_KEY_PREFIX } from './repodata.js';

export { SNAPSHOT_TAG, type SnapshotTagValue } from './snapshot-tag.js';

export const CURRENT_SNAPSHOT_PREFIX = `${SNAPSHOT_KEY_PREFIX}current/`;
export const BLOB_PREFIX = `${SNAPSHOT_KEY_PREFIX}blobs/`;

/** Where the manifest of a repository's current snapshot lives. */
export const manifestKey = (repoDir: string): string => `${CURRENT_SNAPSHOT_PREFIX}${repomdPath(repoDir)}`;

/**
 * Where a file of a repository's snapshots lives: by checksum, per
 * repository (a file is retired when no snapshot of its own repository names
 * it, whatever other repositories hold).
 */
export const blobKey = (repoDir: string, algorithm: string, checksum: string): string =>
  `${BLOB_PREFIX}${repoDir}repodata/${algorithm}-${checksum}`;

/** One file of a snapshot. */
export interface SnapshotFile {
  readonly key: string;
  /** Its name carries its checksum (see isContentNamed): any snapshot that lists the name has the same bytes. */
  readonly contentNamed: boolean;
}

export type SnapshotFiles = Readonly<Record<string, SnapshotFile>>;

/**
 * The snapshot a manifest superseded: its files stay servable by name while
 * they are content-named, and, in the history, it is the snapshot current
 * until this one (manifests written before the history lack its time).
 */
export interface PreviousSnapshot {
  readonly id: string;
  readonly files: SnapshotFiles;
  readonly createdAt?: string;
  readonly revision?: string;
  readonly absent?: readonly string[];
}

/** The current snapshot of one repository. */
export interface SnapshotManifest {
  /** SHA-256 of the repomd.xml it was made from, hex. */
  readonly id: string;
  /** When it became current (UTC, to the second). */
  readonly createdAt: string;
  readonly validators: OriginValidators;
  /** repomd.xml's `<revision>` and the newest `<timestamp>` it lists: how versions are ordered. */
  readonly revision?: string;
  readonly newestTimestamp?: number;
  /** Every stored file (repomd.xml, what it lists, the companions the origin had): path in the repository → file. */
  readonly files: SnapshotFiles;
  /** Companions of repomd.xml the origin did not have when the snapshot was taken. */
  readonly absent: readonly string[];
  readonly previous?: PreviousSnapshot;
  /**
   * Whether its files are tagged `current` and the previous snapshot's retired.
   * A run that stopped between the manifest write and this is finished by the next one.
   */
  readonly settled: boolean;
  /**
   * The run that wrote it (random, one per run): a run whose write S3 applied
   * but whose answer was lost knows the manifest it meets on the SDK's retry
   * (412) is its own.
   */
  readonly run?: string;
}

/** Files as stored: `{ key, contentNamed }`, or a plain key (manifests written before files were by checksum). */
const parseFiles = (value: unknown): SnapshotFiles | undefined => {
  if (!isJsonObject(value)) return undefined;
  const files: Record<string, SnapshotFile> = {};
  for (const [path, entry] of Object.entries(value)) {
    if (typeof entry === 'string') files[path] = { key: entry, contentNamed: false };
    else if (isJsonObject(entry) && typeof entry.key === 'string' && typeof entry.contentNamed === 'boolean') {
      files[path] = { key: entry.key, contentNamed: entry.contentNamed };
    } else return undefined;
  }
  return files;
};

const SNAPSHOT_ID = /^[0-9a-f]{64}$/;

const parseValidators = (value: unknown): OriginValidators => {
  const origin = isJsonObject(value) ? value : {};
  return {
    ...(typeof origin.etag === 'string' ? { etag: origin.etag } : {}),
    ...(typeof origin.lastModified === 'string' ? { lastModified: origin.lastModified } : {}),
    ...(typeof origin.contentLength === 'number' ? { contentLength: origin.contentLength } : {}),
  };
};

const isStringList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((entry) => typeof entry === 'string');

const parsePrevious = (value: unknown): PreviousSnapshot | undefined | false => {
  if (value === undefined) return undefined;
  if (!isJsonObject(value) || typeof value.id !== 'string' || !SNAPSHOT_ID.test(value.id)) return false;
  const files = parseFiles(value.files);
  if (files === undefined) return false;
  const { createdAt, revision, absent } = value;
  return {
    id: value.id,
    files,
    ...(typeof createdAt === 'string' ? { createdAt } : {}),
    ...(typeof revision === 'string' ? { revision } : {}),
    ...(isStringList(absent) ? { absent } : {}),
  };
};

/** A manifest as stored, or undefined when the text is not one (never served then, and replaced by the next snapshot). */
export const parseManifest = (text: string): SnapshotManifest | undefined => {
  const parsed = parseJsonObject(text);
  if (parsed === undefined) return undefined;
  const { id, createdAt, validators, absent, revision, newestTimestamp, settled, run } = parsed;
  if (typeof id !== 'string' || !SNAPSHOT_ID.test(id)) return undefined;
  const files = parseFiles(parsed.files);
  if (typeof createdAt !== 'string' || files === undefined || files[REPOMD] === undefined) return undefined;
  if (!isStringList(absent)) return undefined;
  const previous = parsePrevious(parsed.previous);
  if (previous === false) return undefined;
  return {
    id,
    createdAt,
    validators: parseValidators(validators),
    ...(typeof revision === 'string' ? { revision } : {}),
    ...(typeof newestTimestamp === 'number' ? { newestTimestamp } : {}),
    files,
    absent,
    ...(previous === undefined ? {} : { previous }),
    // Manifests written before settling existed tagged their files before the write.
    settled: settled !== false,
    ...(typeof run === 'string' ? { run } : {}),
  };
};

/** The manifest object as stored: its ETag, and the manifest when it is one. */
export interface StoredManifest {
  readonly manifest: SnapshotManifest | undefined;
  readonly etag: string | undefined;
}

/** The current snapshot of one repository. */
export interface CurrentSnapshot {
  readonly manifest: SnapshotManifest;
  readonly etag: string | undefined;
}

/**
 * The manifest object of the repository in `repoDir`, or undefined when there
 * is none. One that cannot be parsed comes back with its ETag, so the next
 * snapshot replaces it. Other S3 errors throw.
 */
export const readStoredManifest = async (
  s3: S3Client,
  bucket: string,
  repoDir: string,
  abortSignal?: AbortSignal,
): Promise<StoredManifest | undefined> => {
  try {
    const object = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: manifestKey(repoDir) }),
      abortSignal === undefined ? {} : { abortSignal },
    );
    return { manifest: parseManifest((await object.Body?.transformToString()) ?? ''), etag: object.ETag };
  } catch (error) {
    if (isS3NotFound(error)) return undefined;
    throw error;
  }
};

/** The current snapshot of the repository in `repoDir`, or undefined when there is none it could serve. */
export const readCurrentSnapshot = async (
  s3: S3Client,
  bucket: string,
  repoDir: string,
  abortSignal?: AbortSignal,
): Promise<CurrentSnapshot | undefined> => {
  const stored = await readStoredManifest(s3, bucket, repoDir, abortSignal);
  return stored?.manifest === undefined ? undefined : { manifest: stored.manifest, etag: stored.etag };
};
