/**
 * The snapshot of a repository that was current at a time: the last one that
 * became current at or before it. Two S3 requests whatever the history's
 * length (see commons/snapshot-history): the first history entry after the
 * time (ListObjectsV2, `StartAfter`, one key), whose superseded snapshot is
 * the answer, or, when no entry is newer, the current manifest.
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { readObjectText } from '../../commons/cache-store.js';
import { historyPrefix, historyStartAfter, parseHistoryKey, snapshotTimeOf } from '../../commons/snapshot-history.js';
import {
  parseManifest,
  readCurrentSnapshot,
  type SnapshotFiles,
  type SnapshotManifest,
} from '../../commons/snapshot-manifest.js';

/** One snapshot of the history, as a `/@<time>/` answer serves it. */
export interface HistoricSnapshot {
  /** SHA-256 of its repomd.xml. */
  readonly id: string;
  /** When it became current, YYYYMMDDTHHMMSSZ. */
  readonly time: string;
  /** When the next one became current; undefined while it is the current one. */
  readonly until?: string;
  readonly revision?: string;
  readonly files: SnapshotFiles;
  readonly absent: readonly string[];
}

export type SnapshotAt =
  | { readonly kind: 'found'; readonly snapshot: HistoricSnapshot }
  /** The time is before the oldest snapshot the history holds (`first`), or that snapshot left the history. */
  | { readonly kind: 'before-history'; readonly first: string }
  | { readonly kind: 'no-history' };

export interface HistoryWindow {
  /** `SNAPSHOT_HISTORY_DAYS`: 0 keeps every snapshot. */
  readonly historyDays: number;
  readonly now: number;
}

const DAY_MS = 86_400_000;

/**
 * Whether a snapshot superseded at `supersededAt` (ms; undefined: still
 * current) is still in the history: for `historyDays` after, for ever with 0.
 */
export const stillInHistory = (supersededAt: number | undefined, { historyDays, now }: HistoryWindow): boolean =>
  supersededAt === undefined || historyDays === 0 || supersededAt + historyDays * DAY_MS > now;

const readEntry = async (
  s3: S3Client,
  bucket: string,
  key: string,
  abortSignal: AbortSignal | undefined,
): Promise<SnapshotManifest | undefined> => {
  const text = await readObjectText(s3, bucket, key, abortSignal);
  return text === undefined ? undefined : parseManifest(text);
};

/** The snapshot a manifest made current. */
const snapshotOf = (manifest: SnapshotManifest, time: string): HistoricSnapshot => ({
  id: manifest.id,
  time,
  ...(manifest.revision === undefined ? {} : { revision: manifest.revision }),
  files: manifest.files,
  absent: manifest.absent,
});

/**
 * The snapshot of the repository in `repoDir` current at `time`
 * (YYYYMMDDTHHMMSSZ). A snapshot superseded more than `historyDays` ago has
 * left the history, even while the lifecycle has not yet deleted its files.
 */
export const findSnapshotAt = async (
  s3: S3Client,
  { bucket, repoDir, time }: { bucket: string; repoDir: string; time: string },
  { historyDays, now }: HistoryWindow,
  abortSignal?: AbortSignal,
): Promise<SnapshotAt> => {
  const options = abortSignal === undefined ? {} : { abortSignal };
  const prefix = historyPrefix(repoDir);
  const listed = await s3.send(
    new ListObjectsV2Command({
      Bucket: bucket,
      Prefix: prefix,
      StartAfter: historyStartAfter(repoDir, time),
      MaxKeys: 1,
    }),
    options,
  );
  const newerKey = listed?.Contents?.[0]?.Key;
  if (newerKey === undefined) {
    const current = (await readCurrentSnapshot(s3, bucket, repoDir, abortSignal))?.manifest;
    if (current === undefined) return { kind: 'no-history' };
    const currentTime = snapshotTimeOf(current.createdAt);
    if (currentTime === undefined) return { kind: 'no-history' };
    if (currentTime <= time) return { kind: 'found', snapshot: snapshotOf(current, currentTime) };
    // Made current after `time` and not yet settled (its entry is written then): what it superseded was current.
    return superseded(current, currentTime, time, { historyDays, now });
  }
  const newer = await readEntry(s3, bucket, newerKey, abortSignal);
  const newerTime = newer === undefined ? undefined : snapshotTimeOf(newer.createdAt);
  if (newer === undefined || newerTime === undefined) {
    const named = parseHistoryKey(newerKey, prefix);
    return named === undefined ? { kind: 'no-history' } : { kind: 'before-history', first: named.time };
  }
  return superseded(newer, newerTime, time, { historyDays, now });
};

/** The snapshot `newer` superseded, when it was current at `time` and is still in the history. */
const superseded = (
  newer: SnapshotManifest,
  newerTime: string,
  time: string,
  { historyDays, now }: HistoryWindow,
): SnapshotAt => {
  const { previous } = newer;
  const previousTime = previous?.createdAt === undefined ? undefined : snapshotTimeOf(previous.createdAt);
  const previousKept = stillInHistory(Date.parse(newer.createdAt), { historyDays, now });
  // No older snapshot, one made before the history was kept, or one superseded too long ago: `newer` is the first.
  if (previous === undefined || previousTime === undefined || !previousKept) {
    return { kind: 'before-history', first: newerTime };
  }
  // Entries expire oldest first: the one before `previous` is gone, `previous` is the first still reachable.
  if (previousTime > time) return { kind: 'before-history', first: previousTime };
  return {
    kind: 'found',
    snapshot: {
      id: previous.id,
      time: previousTime,
      until: newerTime,
      ...(previous.revision === undefined ? {} : { revision: previous.revision }),
      files: previous.files,
      absent: previous.absent ?? [],
    },
  };
};
