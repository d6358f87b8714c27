/**
 * Repository snapshots, as both Lambdas see them: which request paths are
 * repository metadata, where a snapshot's files are stored, and the manifest
 * that makes one snapshot the current one of a repository.
 *
 * A snapshot is one repomd.xml and every file it lists, each stored under a
 * key of its own snapshot (`snapshots/<sha256 of repomd.xml>/<path>`), so a
 * file that the next version overwrites in place (`--simple-md-filenames`)
 * never replaces the copy an older snapshot serves. The manifest under
 * `snapshots/current/<repo>/repodata/repomd.xml` names the current snapshot;
 * it is written last, once every file is stored, so a client only ever sees
 * complete snapshots, and all of one.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isS3NotFound } from './aws-errors.js';

export { SNAPSHOT_TAG, type SnapshotTagValue } from './snapshot-tag.js';

export const SNAPSHOT_KEY_PREFIX = 'snapshots/';
export const CURRENT_SNAPSHOT_PREFIX = `${SNAPSHOT_KEY_PREFIX}current/`;

/** repomd.xml's path inside its repository: what a snapshot is made from, and the manifest's key for it. */
export const REPOMD = 'repodata/repomd.xml';
/**
 * Files beside repomd.xml that belong to it when the origin has them: zypper
 * asks for all three before it reads repomd.xml (and tolerates their absence).
 */
export const REPOMD_COMPANIONS = ['repodata/repomd.xml.asc', 'repodata/repomd.xml.key', 'media.1/media'] as const;

/**
 * What a path is to the repository snapshots:
 * - `repomd`: `<repo>/repodata/repomd.xml`, or a companion (`.asc`, `.key`, `media.1/media`);
 * - `listed`: any other file directly under `<repo>/repodata/`, which a
 *   snapshot may list.
 * `repoDir` is the repository's directory with its trailing slash (empty for
 * the origin's root), `file` the path inside it (`repodata/primary.xml.gz`).
 */
export interface RepodataPath {
  readonly kind: 'repomd' | 'listed';
  readonly repoDir: string;
  readonly file: string;
}

export const repodataPath = (path: string): RepodataPath | undefined => {
  const match = /^((?:.*\/)?)(repodata\/[^/]+|media\.1\/media)$/.exec(path);
  if (match === null) return undefined;
  const [, repoDir = '', file = ''] = match;
  const kind = file === REPOMD || (REPOMD_COMPANIONS as readonly string[]).includes(file) ? 'repomd' : 'listed';
  return { kind, repoDir, file };
};

/** The path of the repomd.xml whose snapshot an uploader takes: the uploader's event path. */
export const isSnapshotRequest = (path: string): boolean => repodataPath(path)?.file === REPOMD;

/** The repomd.xml path of a repository. */
export const repomdPath = (repoDir: string): string => `${repoDir}${REPOMD}`;

/** Where the manifest of a repository's current snapshot lives. */
export const manifestKey = (repoDir: string): string => `${CURRENT_SNAPSHOT_PREFIX}${repomdPath(repoDir)}`;

/** Where one file of snapshot `id` lives. */
export const snapshotFileKey = (id: string, repoDir: string, file: string): string =>
  `${SNAPSHOT_KEY_PREFIX}${id}/${repoDir}${file}`;

/** What the origin said about repomd.xml when the snapshot was taken: compared with a later HEAD. */
export interface OriginValidators {
  readonly etag?: string;
  readonly lastModified?: string;
  readonly contentLength?: number;
}

/** The current snapshot of one repository. */
export interface SnapshotManifest {
  /** SHA-256 of the repomd.xml it was made from, hex. */
  readonly id: string;
  readonly createdAt: string;
  readonly validators: OriginValidators;
  /** Every stored file (repomd.xml, what it lists, `.asc`/`.key` when the origin had them): path in the repository → key. */
  readonly files: Readonly<Record<string, string>>;
  /** Companions of repomd.xml the origin did not have when the snapshot was taken. */
  readonly absent: readonly string[];
}

const isRecordOfStrings = (value: unknown): value is Record<string, string> =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  Object.values(value).every((entry) => typeof entry === 'string');

/** A manifest as stored, or undefined when the text is not one (never served then). */
export const parseManifest = (text: string): SnapshotManifest | undefined => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { id, createdAt, validators, files, absent } = parsed as Record<string, unknown>;
  if (typeof id !== 'string' || !/^[0-9a-f]{64}$/.test(id)) return undefined;
  if (typeof createdAt !== 'string' || !isRecordOfStrings(files) || files[REPOMD] === undefined) return undefined;
  if (!Array.isArray(absent) || !absent.every((entry) => typeof entry === 'string')) return undefined;
  const origin = typeof validators === 'object' && validators !== null ? (validators as Record<string, unknown>) : {};
  return {
    id,
    createdAt,
    files,
    absent,
    validators: {
      ...(typeof origin.etag === 'string' ? { etag: origin.etag } : {}),
      ...(typeof origin.lastModified === 'string' ? { lastModified: origin.lastModified } : {}),
      ...(typeof origin.contentLength === 'number' ? { contentLength: origin.contentLength } : {}),
    },
  };
};

/** The manifest and its ETag, as read. */
export interface CurrentSnapshot {
  readonly manifest: SnapshotManifest;
  readonly etag: string | undefined;
}

/**
 * The current snapshot of the repository in `repoDir`, or undefined when
 * there is none (or what is stored is not a manifest). Other S3 errors throw.
 */
export const readCurrentSnapshot = async (
  s3: S3Client,
  bucket: string,
  repoDir: string,
  abortSignal?: AbortSignal,
): Promise<CurrentSnapshot | undefined> => {
  try {
    const object = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: manifestKey(repoDir) }),
      abortSignal === undefined ? {} : { abortSignal },
    );
    const manifest = parseManifest((await object.Body?.transformToString()) ?? '');
    return manifest === undefined ? undefined : { manifest, etag: object.ETag };
  } catch (error) {
    if (isS3NotFound(error)) return undefined;
    throw error;
  }
};

const strongEtag = (etag: string): string => etag.replace(/^W\//, '');

/**
 * Whether what the origin serves now (its HEAD's validators) is the snapshot's
 * repomd.xml: the same ETag when both have one, else the same Last-Modified
 * and length. When the origin gives too little to tell, it is not a match: the
 * uploader then compares the bytes themselves, so a doubtful match costs one
 * small GET, never a second snapshot of the same repomd.xml.
 */
export const sameRepomd = (snapshot: OriginValidators, origin: OriginValidators): boolean => {
  if (snapshot.etag !== undefined && origin.etag !== undefined) {
    return strongEtag(snapshot.etag) === strongEtag(origin.etag);
  }
  return (
    snapshot.lastModified !== undefined &&
    snapshot.lastModified === origin.lastModified &&
    snapshot.contentLength !== undefined &&
    snapshot.contentLength === origin.contentLength
  );
};

/** The validators of an origin answer. */
export const validatorsOf = (headers: Headers): OriginValidators => {
  const etag = headers.get('etag') ?? undefined;
  const lastModified = headers.get('last-modified') ?? undefined;
  const length = headers.get('content-length');
  return {
    ...(etag === undefined ? {} : { etag }),
    ...(lastModified === undefined ? {} : { lastModified }),
    ...(length !== null && /^\d+$/.test(length) ? { contentLength: Number(length) } : {}),
  };
};
