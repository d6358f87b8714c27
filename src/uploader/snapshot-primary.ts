/**
 * The primary.xml of a stored snapshot, decompressed as it streams: read
 * from the snapshot's own files (the manifest names them), never from the
 * origin, so what it lists is what one consistent repodata said.
 */
import { pipeline, Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { decompressorOf } from '../commons/metadata-compression.js';
import { REPOMD } from '../commons/repodata.js';
import type { SnapshotFiles } from '../commons/snapshot-manifest.js';
import { parseRepomd } from './repomd.js';

/** The snapshot's primary.xml cannot be read; the message says why. */
export class SnapshotPrimaryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotPrimaryError';
  }
}

const readObject = async (s3: S3Client, bucket: string, key: string, abortSignal: AbortSignal) => {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal });
  if (object.Body === undefined) throw new Error(`s3://${bucket}/${key} has no body`);
  return object.Body;
};

/**
 * The decompressed bytes of the primary.xml that the snapshot of `repoDir`
 * with `files` lists. S3 errors throw as they are; a snapshot without a
 * readable primary throws SnapshotPrimaryError. The caller destroys the
 * stream when it stops reading early.
 */
export const openSnapshotPrimary = async (
  s3: S3Client,
  { bucket, repoDir, files }: { bucket: string; repoDir: string; files: SnapshotFiles },
  signal: AbortSignal,
): Promise<Readable> => {
  const repomdKey = files[REPOMD]?.key;
  if (repomdKey === undefined) throw new SnapshotPrimaryError('the manifest names no repomd.xml');
  const repomd = await (await readObject(s3, bucket, repomdKey, signal)).transformToString();
  const primary = (await parseRepomd(repomd, repoDir)).files.find((file) => file.type === 'primary');
  if (primary === undefined) throw new SnapshotPrimaryError('repomd.xml lists no primary');
  const primaryKey = files[primary.href]?.key;
  if (primaryKey === undefined) throw new SnapshotPrimaryError(`the snapshot does not hold ${primary.href}`);
  const decompressor = decompressorOf(primary.href);
  if (decompressor === undefined) {
    throw new SnapshotPrimaryError(`${primary.href} is compressed in a format Node cannot read`);
  }
  const body = Readable.fromWeb((await readObject(s3, bucket, primaryKey, signal)).transformToWebStream());
  if (decompressor === 'plain') return body;
  const text = pipeline(body, decompressor(), () => {});
  // Whoever stops reading destroys what it holds: the S3 body goes with it.
  text.once('close', () => body.destroy());
  return text;
};
