/**
 * After the commit: the new snapshot's files tagged `current` (never
 * expired), the superseded snapshot's files that it does not name retired
 * (copied onto themselves, tagged `history`, so the lifecycle rule counts
 * `SNAPSHOT_HISTORY_DAYS` from now, not from when they were first stored),
 * the new snapshot's history entry written, and the manifest marked settled.
 * A run that stopped before this is finished by the next run for the
 * repository (Lambda's retry, or the next version).
 */
import { PutObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import { writeHistoryEntry } from '../../commons/snapshot-history.js';
import { type CurrentSnapshot, readStoredManifest, SNAPSHOT_TAG } from '../../commons/snapshot-manifest.js';
import { writeManifest } from './commit.js';
import { renew } from './store.js';

export interface Settled {
  /** Files of the previous snapshot retired now. */
  readonly retired: number;
}

/** Tags `key` `current`: a file the current snapshot names, never expired. */
export const tagCurrent = async (s3: S3Client, bucket: string, key: string): Promise<void> => {
  await s3.send(
    new PutObjectTaggingCommand({
      Bucket: bucket,
      Key: key,
      Tagging: { TagSet: [{ Key: SNAPSHOT_TAG, Value: 'current' }] },
    }),
  );
};

/**
 * Settles `current`, which the manifest object (ETag `current.etag`) names:
 * S3 errors throw, for Lambda's retry, which settles again (tagging is
 * idempotent; a second retirement only moves a grace period by minutes).
 */
export const settleSnapshot = async (
  s3: S3Client,
  { bucket, repoDir, current, now }: { bucket: string; repoDir: string; current: CurrentSnapshot; now: () => Date },
): Promise<Settled> => {
  const { manifest } = current;
  const keep = new Set(Object.values(manifest.files).map(({ key }) => key));
  for (const key of keep) await tagCurrent(s3, bucket, key);
  let retired = 0;
  const stamp = now();
  for (const [path, { key }] of Object.entries(manifest.previous?.files ?? {})) {
    if (keep.has(key)) continue;
    // Gone already (expired, or never stored by a manifest written before files were by checksum): nothing to retire.
    if (await renew(s3, { bucket, key, path, value: 'history', stamp, because: 'retired-at' })) retired += 1;
  }
  // Before the manifest says settled: a run that stops here leaves it unsettled, and the next one writes the entry.
  await writeHistoryEntry(s3, { bucket, repoDir, manifest });
  // An ETag is needed to replace the manifest conditionally (a store that gave none on the write: read it).
  const reread = current.etag === undefined ? await readStoredManifest(s3, bucket, repoDir) : undefined;
  // Only this snapshot's own manifest: an ETag of a newer one would put this one back over it.
  const etag = current.etag ?? (reread?.manifest?.id === manifest.id ? reread.etag : undefined);
  // 412: a newer snapshot replaced this one meanwhile, and settles itself.
  if (etag !== undefined) await writeManifest(s3, { bucket, repoDir, manifest: { ...manifest, settled: true }, etag });
  return { retired };
};
