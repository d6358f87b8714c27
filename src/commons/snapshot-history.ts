/**
 * The history of a repository's snapshots, as the uploader writes it and the
 * handler reads it (`/@<time>/`): one entry object per snapshot that became
 * current, under `snapshots/history/<repo>/repodata/<time>_<sha256>_<revision>.json`.
 *
 * An entry is the manifest that made its snapshot current, so it also holds
 * the snapshot it superseded (`previous`: its time and files). Keys sort by
 * the time a snapshot became current, so the snapshot current at `T` is found
 * with two requests however long the history: the first entry after `T`
 * (ListObjectsV2 with `StartAfter`, one key), whose `previous` it is; or,
 * when no entry is newer, the current manifest. The key also names what a
 * listing shows (time, repomd.xml's SHA-256, revision), so listing reads no
 * entry bodies.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { MAX_KEY_BYTES } from './paths.js';
import { SNAPSHOT_KEY_PREFIX } from './repodata.js';
import type { SnapshotManifest } from './snapshot-manifest.js';
import { SNAPSHOT_TAG } from './snapshot-tag.js';

/** The form of a snapshot time, as snapshot.ubuntu.com and Pulp write it. */
export const SNAPSHOT_TIME_FORM = 'YYYYMMDDTHHMMSSZ';

const SNAPSHOT_TIME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** `date` in the form YYYYMMDDTHHMMSSZ (UTC, to the second). */
export const formatSnapshotTime = (date: Date): string => `${date.toISOString().slice(0, 19).replace(/[-:]/g, '')}Z`;

/** A time in the form YYYYMMDDTHHMMSSZ, or undefined when `text` is not one (a 13th month, a 30th of February, ...). */
export const parseSnapshotTime = (text: string): Date | undefined => {
  const match = SNAPSHOT_TIME.exec(text);
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second] = match;
  const date = new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}Z`);
  // Date rolls a 30th of February over to March: only a time that formats back to itself is one.
  return Number.isNaN(date.getTime()) || formatSnapshotTime(date) !== text ? undefined : date;
};

/** When a manifest's snapshot became current, as a snapshot time (its `createdAt` is ISO 8601, to the second). */
export const snapshotTimeOf = (createdAt: string): string | undefined => {
  const date = new Date(createdAt);
  return Number.isNaN(date.getTime()) ? undefined : formatSnapshotTime(date);
};

export const HISTORY_PREFIX = `${SNAPSHOT_KEY_PREFIX}history/`;
export const CHECKS_PREFIX = `${SNAPSHOT_KEY_PREFIX}checks/`;

/** Where the entries of the repository in `repoDir` live. */
export const historyPrefix = (repoDir: string): string => `${HISTORY_PREFIX}${repoDir}repodata/`;

/** What an entry's name says of its snapshot. */
export interface HistoryName {
  /** When it became current, YYYYMMDDTHHMMSSZ. */
  readonly time: string;
  /** SHA-256 of its repomd.xml. */
  readonly id: string;
  readonly revision?: string;
}

/** Longer revisions are left out of the name; the entry still holds them. */
const MAX_NAMED_REVISION = 200;

/**
 * The key of the entry `name` in the history of `repoDir`. A revision is
 * named only when it fits (in 200 characters and in S3's 1,024 bytes).
 */
export const historyKey = (repoDir: string, { time, id, revision }: HistoryName): string => {
  const bare = `${historyPrefix(repoDir)}${time}_${id}_.json`;
  const named = revision === undefined ? '' : encodeURIComponent(revision);
  const fits = named.length <= MAX_NAMED_REVISION && Buffer.byteLength(bare) + named.length <= MAX_KEY_BYTES;
  return fits ? `${historyPrefix(repoDir)}${time}_${id}_${named}.json` : bare;
};

/**
 * Whether the repository in `repoDir` can have a history: its entries' keys
 * fit in S3 (a path of up to about 900 bytes), and it does not sit inside
 * another repository's `repodata/`, whose history it would otherwise mix
 * into (its entries would list under the other's prefix).
 */
export const keepsHistory = (repoDir: string): boolean =>
  !repoDir.split('/').includes('repodata') &&
  Buffer.byteLength(`${historyPrefix(repoDir)}${'0'.repeat(16)}_${'0'.repeat(64)}_.json`) <= MAX_KEY_BYTES;

const HISTORY_NAME = /^(\d{8}T\d{6}Z)_([0-9a-f]{64})_(.*)\.json$/;

/** What the entry `key` (under `prefix`) names, or undefined when it is not an entry. */
export const parseHistoryKey = (key: string, prefix: string): HistoryName | undefined => {
  if (!key.startsWith(prefix)) return undefined;
  const match = HISTORY_NAME.exec(key.slice(prefix.length));
  if (match === null) return undefined;
  const [, time = '', id = '', revision = ''] = match;
  if (parseSnapshotTime(time) === undefined) return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(revision);
  } catch {
    return undefined;
  }
  return { time, id, ...(decoded === '' ? {} : { revision: decoded }) };
};

/**
 * The first key after every entry of `time` and before: ListObjectsV2's
 * `StartAfter` for the first snapshot that became current after `time`
 * (`~` sorts after the `_` that follows the time in every entry's name).
 */
export const historyStartAfter = (repoDir: string, time: string): string => `${historyPrefix(repoDir)}${time}~`;

/** The entry name of a manifest, or undefined when its time cannot be read. */
export const historyNameOf = (manifest: SnapshotManifest): HistoryName | undefined => {
  const time = snapshotTimeOf(manifest.createdAt);
  if (time === undefined) return undefined;
  return { time, id: manifest.id, ...(manifest.revision === undefined ? {} : { revision: manifest.revision }) };
};

/**
 * Writes the history entry of `manifest` (idempotent: the same key and body
 * for the same manifest), tagged `history`: the lifecycle deletes it
 * `SNAPSHOT_HISTORY_DAYS` after it was written, when the snapshot it
 * superseded leaves the history.
 */
export const writeHistoryEntry = async (
  s3: S3Client,
  { bucket, repoDir, manifest }: { bucket: string; repoDir: string; manifest: SnapshotManifest },
): Promise<void> => {
  const name = historyNameOf(manifest);
  // Not kept (see keepsHistory): the snapshot is served as ever, only not at /@<time>/.
  if (name === undefined || !keepsHistory(repoDir)) return;
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: historyKey(repoDir, name),
      Body: JSON.stringify({ ...manifest, settled: true }),
      ContentType: 'application/json',
      Tagging: `${SNAPSHOT_TAG}=history`,
    }),
  );
};

/** Where the last check of a repository is recorded: a scheduled run that found its snapshot still current. */
export const checkKey = (repoDir: string): string => `${CHECKS_PREFIX}${repoDir}repodata/last-check.json`;

/** The last check of a repository: the snapshot found current (repomd.xml's SHA-256) and when. */
export interface SnapshotCheck {
  readonly id: string;
  readonly checkedAt: string;
}

export const parseCheck = (text: string): SnapshotCheck | undefined => {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { id, checkedAt } = parsed as Record<string, unknown>;
    return typeof id === 'string' && typeof checkedAt === 'string' && parseSnapshotTime(checkedAt) !== undefined
      ? { id, checkedAt }
      : undefined;
  } catch {
    return undefined;
  }
};

/** Records that the snapshot `id` was found current at `checkedAt` (YYYYMMDDTHHMMSSZ). */
export const writeCheck = async (
  s3: S3Client,
  { bucket, repoDir, check }: { bucket: string; repoDir: string; check: SnapshotCheck },
): Promise<void> => {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: checkKey(repoDir),
      Body: JSON.stringify(check),
      ContentType: 'application/json',
      // One small object per repository, replaced by every check: kept while the repository is.
      Tagging: `${SNAPSHOT_TAG}=current`,
    }),
  );
};
