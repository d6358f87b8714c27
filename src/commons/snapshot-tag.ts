/**
 * The object tag the uploader sets on every file of a repository snapshot,
 * and the bucket's lifecycle rules read (infra imports this module, which
 * therefore imports nothing).
 *
 * A file is stored `unreferenced`, tagged `current` before the manifest names
 * it, and `history` once the next snapshot is current (retired, with a fresh
 * creation date). The rules delete `unreferenced` files of a given age (the
 * leftovers of a snapshot that was never completed) and `history` files
 * `SNAPSHOT_HISTORY_DAYS` after their snapshot was superseded; history
 * entries are written `history` too.
 */
export const SNAPSHOT_TAG = 'rpm-cache-snapshot';
export type SnapshotTagValue = 'current' | 'unreferenced' | 'history';
