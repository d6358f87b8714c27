/**
 * The object tag the uploader sets on every file of a repository snapshot,
 * and the bucket's lifecycle rule reads (infra imports this module, which
 * therefore imports nothing).
 *
 * A file is stored `unreferenced`, tagged `current` before the manifest names
 * it, and `unreferenced` again once the next snapshot is current; the rule
 * deletes `unreferenced` files of a given age, so leftovers of a snapshot that
 * was never completed go too.
 */
export const SNAPSHOT_TAG = 'rpm-cache-snapshot';
export type SnapshotTagValue = 'current' | 'unreferenced';
