/**
 * What a path that starts with `@` asks for: a repository as it was at a
 * time (`@<YYYYMMDDTHHMMSSZ>/<path>`), the list of a repository's snapshots
 * (`@/<repository path>/`), or nothing that makes sense (a 400 that shows
 * the expected form). No origin path starts with `@`: Fedora's trees and the
 * mirrors' do not, so the mark is free.
 */
import { cacheKeyProblem } from '../../commons/paths.js';
import { type RepodataPath, repodataPath, repomdPath } from '../../commons/repodata.js';
import { keepsHistory, parseSnapshotTime, SNAPSHOT_TIME_FORM } from '../../commons/snapshot-history.js';

export const TIME_TRAVEL_MARK = '@';

export type TravelPath =
  /** Repository metadata at `time`: answered from the snapshot current then. */
  | { readonly kind: 'metadata'; readonly time: string; readonly at: Date; readonly repodata: RepodataPath }
  /** Anything else under `/@<time>/` (RPMs): answered exactly as `path`, the same path without the time. */
  | { readonly kind: 'pass'; readonly time: string; readonly path: string }
  /** `repoDir` is the directory that holds `repodata/`, ending in `/`. */
  | { readonly kind: 'listing'; readonly repoDir: string }
  | { readonly kind: 'malformed'; readonly reason: string };

const EXAMPLE = `/@20261101T000000Z/pub/fedora/linux/updates/44/Everything/x86_64/`;

/** The repository directory of a listing path: `repodata/` and `repodata/repomd.xml` name their repository too. */
const listedRepository = (rest: string): string => {
  const directory = rest.replace(/(^|\/)repodata\/(repomd\.xml)?$/, '$1');
  return directory === '' || directory.endsWith('/') ? directory : `${directory}/`;
};

/** Why the repository in `repoDir` has no history (see keepsHistory), or undefined. */
const historyProblem = (repoDir: string): string | undefined =>
  keepsHistory(repoDir)
    ? undefined
    : repoDir.split('/').includes('repodata')
      ? "it is inside another repository's repodata/"
      : 'it is too long for its history to be kept';

/** The time-travel request in `path` (decoded, without its leading `/`), or undefined for an ordinary path. */
export const travelPathOf = (path: string): TravelPath | undefined => {
  if (!path.startsWith(TIME_TRAVEL_MARK)) return undefined;
  const slash = path.indexOf('/');
  const head = slash === -1 ? path.slice(1) : path.slice(1, slash);
  const rest = slash === -1 ? '' : path.slice(slash + 1);
  if (head === '') {
    const repoDir = listedRepository(rest);
    // `/@/repodata/` lists a repository at the origin's root.
    if (repoDir === '' && !/^repodata\/(repomd\.xml)?$/.test(rest)) {
      return { kind: 'malformed', reason: 'expected /@/<repository path>/, the directory that holds repodata/' };
    }
    const problem = cacheKeyProblem(repomdPath(repoDir)) ?? historyProblem(repoDir);
    if (problem !== undefined) return { kind: 'malformed', reason: `not a repository path: ${problem}` };
    return { kind: 'listing', repoDir };
  }
  const at = parseSnapshotTime(head);
  if (at === undefined) {
    return {
      kind: 'malformed',
      reason: `${JSON.stringify(head)} is not a time: expected /@${SNAPSHOT_TIME_FORM}/<path> (UTC), e.g. ${EXAMPLE}`,
    };
  }
  if (rest === '') return { kind: 'malformed', reason: `expected a path after the time, e.g. ${EXAMPLE}` };
  const repodata = repodataPath(rest);
  if (repodata === undefined) return { kind: 'pass', time: head, path: rest };
  // Snapshots are keyed by the path: one that could not be a key names no snapshot.
  const problem = cacheKeyProblem(rest) ?? historyProblem(repodata.repoDir);
  if (problem !== undefined) return { kind: 'malformed', reason: `not a repository path: ${problem}` };
  return { kind: 'metadata', time: head, at, repodata };
};
