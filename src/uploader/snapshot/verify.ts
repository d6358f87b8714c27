/**
 * What makes a taken snapshot one version of the repository, newer than the
 * current one: repomd.xml unchanged from the first GET to the last (its
 * companions were fetched right after it, its listed files checked against
 * it), and not older than what is current.
 */

import { REPOMD_COMPANIONS, repomdPath } from '../../commons/repodata.js';
import type { SnapshotManifest } from '../../commons/snapshot-manifest.js';
import { isOlderRepomd, type Repomd } from '../repomd.js';
import { fetchCompanions, fetchSmall, MAX_REPOMD_BYTES, REPOMD_MISSING } from './origin-files.js';
import { SnapshotIncompleteError } from './outcome.js';

/** What a run took of the origin, as verify compares it: repomd.xml and its companions. */
export interface TakenVersion {
  readonly repoDir: string;
  readonly repomd: { readonly sha256: string };
  readonly companions: ReadonlyMap<string, { readonly sha256: string }>;
  readonly absent: readonly string[];
}

const short = (sha256: string | undefined) => (sha256 === undefined ? 'absent' : sha256.slice(0, 12));

/**
 * GETs repomd.xml and its companions again once everything else is stored: a
 * SnapshotIncompleteError when any is no longer what the snapshot was taken
 * of (the listed files may then belong to the next version, or a mirror pool
 * answered one of them from a mirror that lags).
 */
export const verifyUnchanged = async (
  taken: TakenVersion,
  urlOf: (path: string) => string,
  idleTimeoutMs: number,
): Promise<void> => {
  const [again, companions] = await Promise.all([
    fetchSmall(urlOf(repomdPath(taken.repoDir)), {
      maxBytes: MAX_REPOMD_BYTES,
      idleTimeoutMs,
      isMissing: REPOMD_MISSING,
    }),
    fetchCompanions(urlOf, taken.repoDir, idleTimeoutMs),
  ]);
  if (again.kind === 'missing') {
    throw new SnapshotIncompleteError(`repomd.xml went missing (${again.status}) while the snapshot was taken`);
  }
  if (again.sha256 !== taken.repomd.sha256) {
    throw new SnapshotIncompleteError(
      `repomd.xml changed while the snapshot was taken (${short(taken.repomd.sha256)} → ${short(again.sha256)})`,
    );
  }
  for (const companion of REPOMD_COMPANIONS) {
    const before = taken.companions.get(companion)?.sha256;
    const after = companions.companions.get(companion)?.sha256;
    if (before !== after) {
      throw new SnapshotIncompleteError(
        `${companion} changed while the snapshot was taken (${short(before)} → ${short(after)}): a mirror that lags?`,
      );
    }
  }
};

/** A clock this far ahead of the uploader's is wrong, not early. */
const FUTURE_TOLERANCE_SECONDS = 86_400;
/** A `<revision>` from here on is read as a Unix time, as createrepo_c writes it (2001-09-09). */
const UNIX_TIME_REVISION = 1_000_000_000n;

/**
 * The current snapshot's order, without what lies in the future: a
 * repomd.xml generated on a host whose clock was years ahead would otherwise
 * hold every later, real version back as older, for good.
 */
const plausibleOrder = (current: SnapshotManifest, now: Date) => {
  const latest = Math.floor(now.getTime() / 1000) + FUTURE_TOLERANCE_SECONDS;
  const { revision, newestTimestamp } = current;
  const futureRevision =
    revision !== undefined &&
    /^\d{1,30}$/.test(revision) &&
    BigInt(revision) >= UNIX_TIME_REVISION &&
    BigInt(revision) > BigInt(latest);
  return {
    ...(revision === undefined || futureRevision ? {} : { revision }),
    ...(newestTimestamp === undefined || newestTimestamp > latest ? {} : { newestTimestamp }),
  };
};

/**
 * Why `repomd` must not replace `current` (it is an older version), or
 * undefined. A revision or timestamp of `current` more than a day after `now`
 * does not count (see plausibleOrder).
 */
export const olderThanCurrent = (
  repomd: Repomd,
  current: SnapshotManifest | undefined,
  now: Date,
): string | undefined => {
  if (current === undefined || !isOlderRepomd(repomd, plausibleOrder(current, now))) return undefined;
  const describe = ({ revision, newestTimestamp }: Pick<Repomd, 'revision' | 'newestTimestamp'>) =>
    `revision ${revision ?? 'none'}, newest timestamp ${newestTimestamp ?? 'none'}`;
  return `the origin serves an older repomd.xml (${describe(repomd)}) than the current snapshot's (${describe(current)})`;
};
