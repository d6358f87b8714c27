/**
 * The handler's side of repository snapshots: where the stored copy of a
 * repository metadata file is, and whether it is what the origin serves now.
 * Only the current snapshot is served, so a client gets repomd.xml and the
 * files it lists from one snapshot (see commons/repodata).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import {
  type OriginValidators,
  REPOMD,
  type RepodataPath,
  readCurrentSnapshot,
  sameRepomd,
} from '../commons/repodata.js';
import type { StoredCopyLookup } from './stored-copy.js';

/**
 * Looks up `path` in its repository's current snapshot: stored, known to be
 * absent at the origin when the snapshot was taken (`.asc`/`.key`), or not in it.
 * repomd.xml is current when the origin's validators match the snapshot's.
 */
export const lookUpSnapshotFile = async (
  s3: S3Client,
  bucket: string,
  path: RepodataPath,
  abortSignal: AbortSignal,
): Promise<StoredCopyLookup> => {
  const manifest = (await readCurrentSnapshot(s3, bucket, path.repoDir, abortSignal))?.manifest;
  const key = manifest?.files[path.file];
  if (manifest === undefined || key === undefined) {
    return {
      copy: manifest?.absent.includes(path.file) === true ? { kind: 'absent' } : { kind: 'none' },
      isCurrent: () => false,
    };
  }
  const isRepomd = path.file === REPOMD;
  return {
    copy: { kind: 'stored', key },
    isCurrent: (origin: OriginValidators | undefined) =>
      !isRepomd || (origin !== undefined && sameRepomd(manifest.validators, origin)),
  };
};
