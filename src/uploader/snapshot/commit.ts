/**
 * The commit: the manifest write that makes a snapshot current, conditional
 * on the manifest object the run read (its ETag, or that there was none), so
 * of two runs the first to complete wins and the other changes nothing.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isS3ConditionalConflict, isS3ConditionRefused } from '../../commons/aws-errors.js';
import { manifestKey, type SnapshotManifest } from '../../commons/snapshot-manifest.js';
import { ConditionalWriteConflictError } from '../upload-errors.js';

export type ManifestWrite = { readonly written: true; readonly etag: string | undefined } | { readonly written: false };

/**
 * Writes `manifest` as the repository's current one if the manifest object is
 * still the one read: `etag` (a manifest, or an object the parser could not
 * read, which is replaced), or none at all (`etag` undefined).
 * `{ written: false }` when it changed meanwhile (S3 412); a 409 (a conflicting
 * operation in flight, nothing decided) is thrown, for Lambda's retry.
 */
export const writeManifest = async (
  s3: S3Client,
  {
    bucket,
    repoDir,
    manifest,
    etag,
  }: { bucket: string; repoDir: string; manifest: SnapshotManifest; etag: string | undefined },
): Promise<ManifestWrite> => {
  const condition = etag === undefined ? { IfNoneMatch: '*' } : { IfMatch: etag };
  try {
    const written = await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: manifestKey(repoDir),
        Body: JSON.stringify(manifest),
        ContentType: 'application/json',
        ...condition,
      }),
    );
    return { written: true, etag: written.ETag };
  } catch (error) {
    if (isS3ConditionRefused(error)) return { written: false };
    if (isS3ConditionalConflict(error)) {
      // Nothing was decided: Lambda's retry finds this snapshot's files stored and writes the manifest again.
      throw new ConditionalWriteConflictError(`a conflicting write to ${manifestKey(repoDir)} was in flight (S3 409)`, {
        cause: error,
      });
    }
    throw error;
  }
};
