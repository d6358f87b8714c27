/**
 * What a snapshot run reports, and what it needs: shared by the steps of
 * taking a snapshot (take, verify, commit, retire).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { CacheConfig } from '../../commons/config.js';
import type { ClaimOptions } from '../upload-claim.js';

/**
 * - `stored`: a new snapshot is current;
 * - `already-current`: the origin's repomd.xml is the current snapshot's (a run that stopped after making it
 *   current is finished: its files tagged, the previous snapshot retired);
 * - `outdated`: the origin's repomd.xml is older than the current snapshot's (a lagging mirror): nothing changed;
 * - `origin-missing`: the origin has no repomd.xml (404/410);
 * - `incomplete`: a listed file is missing or not what repomd.xml says, or repomd.xml changed while the
 *   snapshot was taken (a mirror mid-sync); nothing changed;
 * - `corrupt`: what the origin serves is not a repomd.xml a client could use;
 * - `claimed-elsewhere`, `lost-race`: another uploader is making, or made, the snapshot.
 */
export type SnapshotOutcome =
  | 'stored'
  | 'already-current'
  | 'outdated'
  | 'origin-missing'
  | 'incomplete'
  | 'corrupt'
  | 'claimed-elsewhere'
  | 'lost-race';

export interface SnapshotResult {
  readonly outcome: SnapshotOutcome;
  /** SHA-256 of the repomd.xml the snapshot is of. */
  readonly snapshotId?: string;
  readonly originStatus?: number;
  /** Files the snapshot holds and their bytes, for `stored`. */
  readonly files?: number;
  readonly bytes?: number;
  /** Files downloaded from the origin for it (the rest were stored already, by checksum). */
  readonly downloaded?: number;
  readonly reason?: string;
  /** Files of the superseded snapshot retired now (left to expire after the grace period). */
  readonly retired?: number;
}

export interface SnapshotDependencies {
  readonly config: CacheConfig;
  readonly s3: S3Client;
  readonly claim?: ClaimOptions;
  readonly originIdleTimeoutMs?: number;
  readonly partSize?: number;
  /** The clock of `createdAt` and of retirement; tests pass their own. */
  readonly now?: () => Date;
}

/** The snapshot could not be completed for a reason retrying now cannot mend: the run ends `incomplete`. */
export class SnapshotIncompleteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotIncompleteError';
  }
}
