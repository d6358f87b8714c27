/**
 * What the stored snapshot of an RPM's repository says the RPM is: its
 * checksum and size in that snapshot's primary.xml, what dnf itself checks a
 * download against. The repository is the nearest directory above the RPM that
 * has a current snapshot; its primary.xml is read from the snapshot, never
 * from the origin, so the answer is what a consistent repodata said.
 */
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { type CurrentSnapshot, readCurrentSnapshot } from '../commons/snapshot-manifest.js';
import { findInPrimary, type PrimaryEntry } from './primary-scan.js';
import { openSnapshotPrimary, SnapshotPrimaryError } from './snapshot-primary.js';

/** How an RPM stands against its repository's snapshot, as logged and answered by the uploader. */
export type RepositoryListing =
  | { readonly result: 'no-snapshot' }
  | {
      readonly result: 'listed';
      readonly repository: string;
      readonly snapshot: string;
      readonly entry: PrimaryEntry;
      /** Who lists it, for a refusal's message, when not the snapshot's primary.xml (a rescue's expectation). */
      readonly listedBy?: string;
    }
  | { readonly result: 'not-listed'; readonly repository: string; readonly snapshot: string }
  | { readonly result: 'unreadable'; readonly repository: string; readonly snapshot: string; readonly reason: string };

/** The directories above `path`, nearest first, each with its trailing slash (the origin's root is ''). */
export const directoriesAbove = (path: string): string[] => {
  const directories: string[] = [];
  for (let slash = path.lastIndexOf('/'); slash >= 0; slash = path.lastIndexOf('/', slash - 1)) {
    directories.push(path.slice(0, slash + 1));
    if (slash === 0) break;
  }
  directories.push('');
  return directories;
};

/** The entry of `href` in the primary.xml of `current`, the snapshot of `repoDir`. */
const listingIn = async (
  s3: S3Client,
  bucket: string,
  repoDir: string,
  { manifest }: CurrentSnapshot,
  href: string,
  signal: AbortSignal,
): Promise<RepositoryListing> => {
  const at = { repository: repoDir, snapshot: manifest.id };
  let text: Readable;
  try {
    text = await openSnapshotPrimary(s3, { bucket, repoDir, files: manifest.files }, signal);
  } catch (error) {
    if (error instanceof SnapshotPrimaryError) return { result: 'unreadable', ...at, reason: error.message };
    throw error;
  }
  try {
    const entry = await findInPrimary(text, href);
    return entry === undefined ? { result: 'not-listed', ...at } : { result: 'listed', ...at, entry };
  } finally {
    text.destroy();
  }
};

/** The repository nearest above a file that has a current snapshot. */
export interface NearestSnapshot {
  readonly repoDir: string;
  readonly current: CurrentSnapshot;
}

/**
 * The nearest directory above `path` with a current snapshot, and that
 * snapshot; undefined when none has one. S3 errors throw.
 */
export const nearestSnapshot = async (
  s3: S3Client,
  bucket: string,
  path: string,
  signal: AbortSignal,
): Promise<NearestSnapshot | undefined> => {
  const directories = directoriesAbove(path);
  // One GET per directory, all at once: a miss is a quick 404, and nearest wins.
  const snapshots = await Promise.all(directories.map((repoDir) => readCurrentSnapshot(s3, bucket, repoDir, signal)));
  const index = snapshots.findIndex((snapshot) => snapshot !== undefined);
  const current = snapshots[index];
  const repoDir = directories[index];
  return current === undefined || repoDir === undefined ? undefined : { repoDir, current };
};

/**
 * How `path` stands against the current snapshot of the nearest repository
 * above it. Never throws: what cannot be read (an S3 error, a primary.xml in
 * an unknown compression or shape) is `unreadable`, with the reason, since
 * the RPM's own digests are still checked and the check is an addition.
 * `signal` stops the reading (the upload failed: nobody waits for the answer).
 */
export const repositoryListing = async (
  s3: S3Client,
  bucket: string,
  path: string,
  signal: AbortSignal,
): Promise<RepositoryListing> => {
  let found: NearestSnapshot | undefined;
  try {
    found = await nearestSnapshot(s3, bucket, path, signal);
  } catch (error) {
    return { result: 'unreadable', repository: '', snapshot: '', reason: `reading manifests: ${String(error)}` };
  }
  if (found === undefined) return { result: 'no-snapshot' };
  const { repoDir, current } = found;
  try {
    return await listingIn(s3, bucket, repoDir, current, path.slice(repoDir.length), signal);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { result: 'unreadable', repository: repoDir, snapshot: current.manifest.id, reason };
  }
};
