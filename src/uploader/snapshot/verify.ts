/**
 * What makes a taken snapshot one version of the repository, newer than the
 * current one: repomd.xml unchanged from the first GET to the last (its
 * companions were fetched right after it, its listed files checked against
 * it), and not older than what is current.
 */

import type { SnapshotManifest } from '../../commons/snapshot-manifest.js';
import { isOlderRepomd, type Repomd } from '../repomd.js';
import { fetchSmall, MAX_REPOMD_BYTES, REPOMD_MISSING } from './origin-files.js';
import { SnapshotIncompleteError } from './outcome.js';

/**
 * GETs repomd.xml again once everything else is stored: a SnapshotIncompleteError
 * when it is no longer the one the snapshot was taken of (the companions or
 * the listed files may then belong to the next version).
 */
export const verifyUnchanged = async (url: string, sha256: string, idleTimeoutMs: number): Promise<void> => {
  const again = await fetchSmall(url, { maxBytes: MAX_REPOMD_BYTES, idleTimeoutMs, isMissing: REPOMD_MISSING });
  if (again.kind === 'missing') {
    throw new SnapshotIncompleteError(`repomd.xml went missing (${again.status}) while the snapshot was taken`);
  }
  if (again.sha256 !== sha256) {
    throw new SnapshotIncompleteError(
      `repomd.xml changed while the snapshot was taken (${sha256.slice(0, 12)} → ${again.sha256.slice(0, 12)})`,
    );
  }
};

/** Why `repomd` must not replace `current` (it is an older version), or undefined. */
export const olderThanCurrent = (repomd: Repomd, current: SnapshotManifest | undefined): string | undefined => {
  if (current === undefined || !isOlderRepomd(repomd, current)) return undefined;
  const describe = ({ revision, newestTimestamp }: Pick<Repomd, 'revision' | 'newestTimestamp'>) =>
    `revision ${revision ?? 'none'}, newest timestamp ${newestTimestamp ?? 'none'}`;
  return `the origin serves an older repomd.xml (${describe(repomd)}) than the current snapshot's (${describe(current)})`;
};
