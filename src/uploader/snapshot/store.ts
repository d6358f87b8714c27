/**
 * Storing a snapshot's files, each once per repository under its checksum
 * (see commons/snapshot-manifest): a listed file streamed from the origin and
 * verified against repomd.xml, or, when an earlier snapshot stored it, that
 * copy renewed so it outlives the commit.
 *
 * A file streamed from the origin is new: tagged `unreferenced`, it belongs
 * to no snapshot until the manifest names it, and one left by a run that
 * loses or fails expires with the lifecycle rule. A file stored before may be
 * one a snapshot in the history names: renewed, it is tagged `history` with a
 * fresh creation date, so a run that then fails never shortens its life.
 * Only the retire step, after the manifest write, tags files `current`.
 */
import { CopyObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isS3NotFound } from '../../commons/aws-errors.js';
import { originRoute } from '../../commons/origins.js';
import { isContentNamed } from '../../commons/repodata.js';
import { blobKey, SNAPSHOT_TAG, type SnapshotFile, type SnapshotTagValue } from '../../commons/snapshot-manifest.js';
import { DigestGuard, DigestMismatchError } from '../digest-guard.js';
import { checkedBody, openOrigin } from '../origin-get.js';
import type { ListedFile } from '../repomd.js';
import { putOnce } from '../store-once.js';
import { DEFAULT_ORIGIN_IDLE_TIMEOUT_MS } from '../upload.js';
import { type SnapshotDependencies, SnapshotIncompleteError } from './outcome.js';

export const tagging = (value: SnapshotTagValue): string => `${SNAPSHOT_TAG}=${value}`;

/** What a client is told a stored file is: repomd.xml is XML, the rest is bytes to check. */
export const contentTypeOf = (path: string): string =>
  path.endsWith('.xml') ? 'text/xml' : 'application/octet-stream';

/** CopyObject's source: the bucket and the key, each segment URL-encoded. */
export const copySource = (bucket: string, key: string): string =>
  `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;

export interface Renewal {
  readonly bucket: string;
  readonly key: string;
  /** The file's path in its repository (its content type). */
  readonly path: string;
  readonly value: SnapshotTagValue;
  readonly stamp: Date;
  /** The metadata that says why: `retired-at` (superseded) or `reused-at` (listed again by a new snapshot). */
  readonly because: 'retired-at' | 'reused-at';
}

/**
 * Copies `key` onto itself with a new creation date and the tag `value`
 * (lifecycle ages count from creation, and a tag change alone does not restart
 * them); false when the key does not exist.
 */
export const renew = async (s3: S3Client, { bucket, key, path, value, stamp, because }: Renewal): Promise<boolean> => {
  try {
    await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: key,
        CopySource: copySource(bucket, key),
        // S3 copies an object onto itself only when something changes: the metadata says when and why.
        MetadataDirective: 'REPLACE',
        Metadata: { [because]: stamp.toISOString() },
        ContentType: contentTypeOf(path),
        TaggingDirective: 'REPLACE',
        Tagging: tagging(value),
      }),
    );
    return true;
  } catch (error) {
    if (isS3NotFound(error)) return false;
    throw error;
  }
};

/** One file stored for a snapshot, and whether it came from the origin in this run. */
export interface StoredFile {
  readonly path: string;
  readonly file: SnapshotFile;
  readonly bytes: number;
  readonly downloaded: boolean;
}

interface StoreContext {
  readonly repoDir: string;
  /** Keys the current snapshot names: tagged `current` already, and left as they are. */
  readonly current: ReadonlySet<string>;
  readonly deps: SnapshotDependencies;
}

/**
 * Makes sure one listed file is stored: as the current snapshot holds it, an
 * earlier copy renewed, or streamed from the origin, verified against
 * repomd.xml (a mismatch is a SnapshotIncompleteError: a mirror mid-sync).
 */
export const storeListedFile = async (
  listed: ListedFile,
  { repoDir, current, deps }: StoreContext,
): Promise<StoredFile> => {
  const { config, s3, partSize, originIdleTimeoutMs = DEFAULT_ORIGIN_IDLE_TIMEOUT_MS, now = () => new Date() } = deps;
  const key = blobKey(repoDir, listed.algorithm, listed.checksum);
  const file = { key, contentNamed: isContentNamed(listed.href, listed.checksum) };
  const stored = { path: listed.href, file, bytes: listed.size ?? 0, downloaded: false };
  if (current.has(key)) return stored;
  const renewal = {
    bucket: config.bucketName,
    key,
    path: listed.href,
    value: 'history',
    stamp: now(),
    because: 'reused-at',
  } as const;
  if (await renew(s3, renewal)) return stored;

  const request = new AbortController();
  const url = originRoute(config, `${repoDir}${listed.href}`).urls[0];
  const answer = await openOrigin(url, request, originIdleTimeoutMs);
  if (answer.kind === 'missing') {
    throw new SnapshotIncompleteError(`${listed.href}: origin answered ${answer.status} (a mirror mid-sync?)`);
  }
  if (answer.kind === 'encoded') {
    throw new SnapshotIncompleteError(`${listed.href}: origin sent Content-Encoding ${answer.encoding}`);
  }
  const { body, guard } = checkedBody(answer.response, originIdleTimeoutMs, [new DigestGuard(listed)]);
  try {
    // lost-race: another run stored the same checksum meanwhile, verified as this one would have.
    await putOnce(s3, {
      bucket: config.bucketName,
      key,
      body,
      contentType: contentTypeOf(listed.href),
      tagging: tagging('unreferenced'),
      ...(partSize === undefined ? {} : { partSize }),
    });
    return { ...stored, bytes: guard.bytes, downloaded: true };
  } catch (error) {
    request.abort();
    body.destroy();
    if (error instanceof DigestMismatchError) {
      throw new SnapshotIncompleteError(`${listed.href}: ${error.message} (a mirror mid-sync?)`);
    }
    throw error;
  }
};

/** Stores a small file (repomd.xml, a companion) already in memory, under its SHA-256. */
export const storeSmallFile = async (
  path: string,
  { bytes, sha256 }: { bytes: Buffer; sha256: string },
  { repoDir, current, deps }: StoreContext,
): Promise<StoredFile> => {
  const key = blobKey(repoDir, 'sha256', sha256);
  const stored = { path, file: { key, contentNamed: false }, bytes: bytes.length, downloaded: false };
  if (current.has(key)) return stored;
  // The same bytes whatever was there: a plain PUT renews it (`history`: an older snapshot may name it).
  await deps.s3.send(
    new PutObjectCommand({
      Bucket: deps.config.bucketName,
      Key: key,
      Body: bytes,
      ContentType: contentTypeOf(path),
      Tagging: tagging('history'),
    }),
  );
  return stored;
};
