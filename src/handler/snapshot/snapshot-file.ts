/**
 * Where a repository metadata file is in its repository's snapshots: the
 * role of the path, and what the current snapshot (or, for a content-named
 * file, the one it superseded) holds for it.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { isContentNamed, type RepodataPath } from '../../commons/repodata.js';
import { readCurrentSnapshot, type SnapshotManifest } from '../../commons/snapshot-manifest.js';
import type { Holding, RepodataRole } from './serving-rules.js';

/** The role of a path, known before the manifest is read (it decides which URL the origin HEAD asks). */
export const roleOf = ({ kind, file }: RepodataPath): RepodataRole => {
  if (kind === 'listed') return isContentNamed(file) ? 'listed-content' : 'listed-fixed';
  return kind;
};

export interface SnapshotLookup {
  readonly manifest: SnapshotManifest | undefined;
  readonly holding: Holding;
  /** The stored copy's key, when `holding` is `stored`. */
  readonly key?: string;
}

/** What the snapshots of `path`'s repository hold for it, as `role` may be served. */
export const lookUpSnapshotFile = async (
  s3: S3Client,
  bucket: string,
  path: RepodataPath,
  role: RepodataRole,
  abortSignal: AbortSignal,
): Promise<SnapshotLookup> => {
  const manifest = (await readCurrentSnapshot(s3, bucket, path.repoDir, abortSignal))?.manifest;
  if (manifest === undefined) return { manifest, holding: 'none' };
  // The superseded snapshot serves only what its name pins to its bytes: a client mid-download asks for it.
  const previous = manifest.previous?.files[path.file];
  const file =
    manifest.files[path.file] ?? (role === 'listed-content' && previous?.contentNamed === true ? previous : undefined);
  if (file !== undefined) return { manifest, holding: 'stored', key: file.key };
  return { manifest, holding: manifest.absent.includes(path.file) ? 'absent' : 'none' };
};

/**
 * How long a run may take to settle its snapshot after making it current
 * (the uploader's 15-minute timeout, and its retry): a manifest unsettled
 * for longer was left by a run that stopped, and the next request for
 * repomd.xml triggers a run that finishes it.
 */
export const SETTLE_WITHIN_MS = 20 * 60 * 1000;

export const isLeftUnsettled = (manifest: SnapshotManifest | undefined, now: number): boolean =>
  manifest !== undefined && !manifest.settled && now - Date.parse(manifest.createdAt) > SETTLE_WITHIN_MS;
