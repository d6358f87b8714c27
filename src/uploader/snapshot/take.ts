/**
 * The uploader's second use case: a snapshot of a repository's metadata that
 * is exactly one version of it, and never older than the current one.
 *
 * take: repomd.xml, then at once its companions (`.asc`, `.key`,
 * `media.1/media`), so all belong to one version; every file repomd.xml lists,
 * each verified while it streams (store.ts);
 * verify: repomd.xml fetched again at the end, unchanged, and not older than
 * the current snapshot's (verify.ts);
 * commit: the manifest, conditional on the one read (commit.ts);
 * retire: the new files tagged current, the superseded ones left to expire
 * after the grace period (retire.ts).
 * A snapshot that cannot be completed is never current; the previous one stays.
 */
import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { CacheConfig } from '../../commons/config.js';
import { originRoute } from '../../commons/origins.js';
import { REPOMD, repodataPath, repomdPath } from '../../commons/repodata.js';
import { formatSnapshotTime, writeCheck } from '../../commons/snapshot-history.js';
import {
  type CurrentSnapshot,
  type PreviousSnapshot,
  readStoredManifest,
  type SnapshotFile,
  type SnapshotManifest,
  type StoredManifest,
} from '../../commons/snapshot-manifest.js';
import { parseRepomd, type Repomd, RepomdError } from '../repomd.js';
import { DEFAULT_ORIGIN_IDLE_TIMEOUT_MS } from '../upload.js';
import { claimDownload } from '../upload-claim.js';
import { writeManifest } from './commit.js';
import { type FetchedFile, fetchCompanions, fetchSmall, MAX_REPOMD_BYTES, REPOMD_MISSING } from './origin-files.js';
import {
  type SnapshotDependencies,
  SnapshotIncompleteError,
  type SnapshotOutcome,
  type SnapshotResult,
} from './outcome.js';
import { settleSnapshot, tagCurrent } from './retire.js';
import { type StoredFile, storeListedFile, storeSmallFile } from './store.js';
import { olderThanCurrent, type TakenVersion, verifyUnchanged } from './verify.js';

export type { SnapshotDependencies, SnapshotOutcome, SnapshotResult } from './outcome.js';

/** One version of the repository as the origin served it: repomd.xml and the companions fetched right after it. */
interface OriginVersion extends TakenVersion {
  readonly repomd: FetchedFile;
  readonly parsed: Repomd;
  readonly companions: ReadonlyMap<string, FetchedFile>;
}

const urlOf = (config: CacheConfig, path: string): string => originRoute(config, path).urls[0];

/** The origin's version of the repository now, or why there is none to take. */
const fetchVersion = async (
  config: CacheConfig,
  repoDir: string,
  idleTimeoutMs: number,
): Promise<{ readonly version: OriginVersion } | { readonly result: SnapshotResult }> => {
  try {
    const repomd = await fetchSmall(urlOf(config, repomdPath(repoDir)), {
      maxBytes: MAX_REPOMD_BYTES,
      idleTimeoutMs,
      isMissing: REPOMD_MISSING,
    });
    if (repomd.kind === 'missing') return { result: { outcome: 'origin-missing', originStatus: repomd.status } };
    let parsed: Repomd;
    try {
      parsed = await parseRepomd(repomd.bytes.toString('utf8'), repoDir);
    } catch (error) {
      if (!(error instanceof RepomdError)) throw error;
      const reason = `repomd.xml: ${error.message}`;
      return { result: { outcome: 'corrupt', reason, snapshotId: repomd.sha256, originStatus: repomd.status } };
    }
    const companions = await fetchCompanions((companion) => urlOf(config, companion), repoDir, idleTimeoutMs);
    return { version: { repoDir, repomd, parsed, ...companions } };
  } catch (error) {
    if (error instanceof SnapshotIncompleteError) return { result: { outcome: 'corrupt', reason: error.message } };
    throw error;
  }
};

/** What the current snapshot means for this version: nothing to do, a version to refuse, or none. */
const judge = (
  version: OriginVersion,
  current: SnapshotManifest | undefined,
  now: Date,
): SnapshotResult | undefined => {
  const taken = { snapshotId: version.repomd.sha256, originStatus: version.repomd.status };
  if (current?.id === version.repomd.sha256 && current.settled) return { outcome: 'already-current', ...taken };
  const older = olderThanCurrent(version.parsed, current, now);
  if (older !== undefined) return { outcome: 'outdated', reason: older, ...taken };
  return undefined;
};

const outcomeOf = (
  outcome: SnapshotOutcome,
  version: OriginVersion | undefined,
  extra: Partial<SnapshotResult> = {},
): SnapshotResult => ({
  outcome,
  ...(version === undefined ? {} : { snapshotId: version.repomd.sha256, originStatus: version.repomd.status }),
  ...extra,
});

const isUnsettled = (stored: StoredManifest | undefined): boolean =>
  stored?.manifest !== undefined && !stored.manifest.settled;

/**
 * Takes the snapshot of the repository whose repomd.xml is `path`, unless the
 * current one is of the same repomd.xml (compared byte for byte, by SHA-256),
 * or of a newer one, or another uploader holds the claim on it. A current
 * snapshot left unsettled (a run that stopped after its commit) is settled
 * first, before the origin is asked anything: an origin down, gone or lagging
 * must not leave its files unprotected.
 *
 * Origin failures other than a missing file and S3 errors throw, for Lambda's retry.
 */
export const takeSnapshot = async (path: string, deps: SnapshotDependencies): Promise<SnapshotResult> => {
  const repoDir = repodataPath(path)?.repoDir ?? '';
  const result = await takeOrConfirm(repoDir, deps);
  if (result.outcome === 'already-current' && result.snapshotId !== undefined) {
    // The history says what was current when: a check that changed nothing is part of it (the listing shows it).
    const { config, s3, now = () => new Date() } = deps;
    const check = { id: result.snapshotId, checkedAt: formatSnapshotTime(now()) };
    await writeCheck(s3, { bucket: config.bucketName, repoDir, check });
  }
  return result;
};

const takeOrConfirm = async (repoDir: string, deps: SnapshotDependencies): Promise<SnapshotResult> => {
  const { config, s3, claim, originIdleTimeoutMs = DEFAULT_ORIGIN_IDLE_TIMEOUT_MS, now = () => new Date() } = deps;
  const before = await readStoredManifest(s3, config.bucketName, repoDir);
  if (isUnsettled(before)) {
    // Settled before the origin is asked anything, unless the run that wrote it still holds the claim (and settles it).
    if (claim === undefined) return underClaim(repoDir, undefined, deps);
    const claimed = await claimDownload(s3, config.bucketName, repomdPath(repoDir), claim);
    if (claimed.claimed) {
      try {
        return await underClaim(repoDir, undefined, deps);
      } finally {
        await claimed.release().catch(() => undefined);
      }
    }
  }
  const fetched = await fetchVersion(config, repoDir, originIdleTimeoutMs);
  if ('result' in fetched) return fetched.result;
  const { version } = fetched;
  const early = judge(version, before?.manifest, now());
  if (early !== undefined) return early;
  if (claim === undefined) return underClaim(repoDir, version, deps);
  const claimed = await claimDownload(s3, config.bucketName, repomdPath(repoDir), claim);
  if (!claimed.claimed) {
    const until = new Date(claimed.expiresAt).toISOString();
    return outcomeOf('claimed-elsewhere', version, { reason: `held by ${claimed.heldBy} until ${until}` });
  }
  try {
    return await underClaim(repoDir, version, deps);
  } finally {
    await claimed.release().catch(() => undefined);
  }
};

/**
 * The rest of the run, with no other run of this repository at work (or none
 * expected: no claim). `version` is undefined when the origin was not asked
 * yet (a snapshot to settle first).
 */
const underClaim = async (
  repoDir: string,
  fetchedBefore: OriginVersion | undefined,
  deps: SnapshotDependencies,
): Promise<SnapshotResult> => {
  const { config, s3, originIdleTimeoutMs = DEFAULT_ORIGIN_IDLE_TIMEOUT_MS, now = () => new Date() } = deps;
  // Read again: the previous claim holder may have just made a snapshot current.
  let stored: StoredManifest | undefined = await readStoredManifest(s3, config.bucketName, repoDir);
  let settled: { retired?: number } = {};
  if (stored?.manifest !== undefined && !stored.manifest.settled) {
    // A run that stopped after its commit: finish it before anything else.
    const current = { manifest: stored.manifest, etag: stored.etag };
    settled = await settleSnapshot(s3, { bucket: config.bucketName, repoDir, current, now });
    stored = await readStoredManifest(s3, config.bucketName, repoDir);
  }
  let version = fetchedBefore;
  if (version === undefined) {
    const fetched = await fetchVersion(config, repoDir, originIdleTimeoutMs);
    if ('result' in fetched) return { ...fetched.result, ...settled };
    version = fetched.version;
  }
  if (stored?.manifest?.id === version.repomd.sha256) return outcomeOf('already-current', version, settled);
  const verdict = judge(version, stored?.manifest, now());
  if (verdict !== undefined) return { ...verdict, ...settled };
  try {
    return await storeAndCommit(version, stored, deps);
  } catch (error) {
    if (error instanceof SnapshotIncompleteError) return outcomeOf('incomplete', version, { reason: error.message });
    throw error;
  }
};

/**
 * Tags `current` each of `written` that the repository's current manifest
 * names. A run that stored a file again (renewed it `history`) after
 * another run for the same version made it current, and then lost or failed,
 * must not leave that file to expire under the current snapshot.
 */
const keepCurrentTagged = async (s3: S3Client, bucket: string, repoDir: string, written: readonly string[]) => {
  if (written.length === 0) return;
  const named = new Set(
    Object.values((await readStoredManifest(s3, bucket, repoDir))?.manifest?.files ?? {}).map(({ key }) => key),
  );
  for (const key of written.filter((key) => named.has(key))) await tagCurrent(s3, bucket, key);
};

/**
 * When a snapshot committed `now` became current, to the second: at least a
 * second after the one it supersedes, so times in the history only go
 * forward (two containers' clocks may differ by a little; a lookup by time
 * relies on the order, and an earlier time would make the history answer
 * for the wrong snapshot).
 */
const becameCurrentAt = (previous: SnapshotManifest | undefined, now: Date): string => {
  const second = Math.floor(now.getTime() / 1000) * 1000;
  const afterPrevious = previous === undefined ? 0 : Date.parse(previous.createdAt) + 1000;
  const time = Math.max(Number.isNaN(afterPrevious) ? 0 : afterPrevious, second);
  return `${new Date(time).toISOString().slice(0, 19)}Z`;
};

/** What a manifest keeps of the snapshot it supersedes: its files, and for the history its time. */
const supersededBy = (previous: SnapshotManifest): PreviousSnapshot => ({
  id: previous.id,
  files: previous.files,
  createdAt: previous.createdAt,
  ...(previous.revision === undefined ? {} : { revision: previous.revision }),
  absent: previous.absent,
});

const storeAndCommit = async (
  version: OriginVersion,
  stored: StoredManifest | undefined,
  deps: SnapshotDependencies,
): Promise<SnapshotResult> => {
  const { config, s3, originIdleTimeoutMs = DEFAULT_ORIGIN_IDLE_TIMEOUT_MS, now = () => new Date() } = deps;
  const bucket = config.bucketName;
  const { repoDir, repomd, parsed, companions, absent } = version;
  const previous = stored?.manifest;
  const context = {
    repoDir,
    current: new Set(Object.values(previous?.files ?? {}).map(({ key }) => key)),
    deps,
  };
  const files: StoredFile[] = [];
  /** Keys this run wrote (uploaded `unreferenced`, or renewed `history`). */
  const written = () => files.filter(({ file }) => !context.current.has(file.key)).map(({ file }) => file.key);
  try {
    for (const listed of parsed.files) files.push(await storeListedFile(listed, context));
    for (const [companion, fetched] of companions) files.push(await storeSmallFile(companion, fetched, context));
    files.push(await storeSmallFile(REPOMD, repomd, context));
    await verifyUnchanged(version, (path) => urlOf(config, path), originIdleTimeoutMs);
  } catch (error) {
    if (error instanceof SnapshotIncompleteError) await keepCurrentTagged(s3, bucket, repoDir, written());
    throw error;
  }

  const run = randomBytes(8).toString('hex');
  const manifest: SnapshotManifest = {
    id: repomd.sha256,
    createdAt: becameCurrentAt(previous, now()),
    validators: repomd.validators,
    ...(parsed.revision === undefined ? {} : { revision: parsed.revision }),
    ...(parsed.newestTimestamp === undefined ? {} : { newestTimestamp: parsed.newestTimestamp }),
    files: Object.fromEntries(files.map(({ path, file }): [string, SnapshotFile] => [path, file])),
    absent,
    ...(previous === undefined ? {} : { previous: supersededBy(previous) }),
    settled: false,
    run,
  };
  const write = await writeManifest(s3, { bucket, repoDir, manifest, etag: stored?.etag });
  let current: CurrentSnapshot;
  if (write.written) current = { manifest, etag: write.etag };
  else {
    // 412. The SDK retries a write whose answer was lost: the manifest it then meets may be this run's own.
    const met = await readStoredManifest(s3, bucket, repoDir);
    if (met?.manifest?.run !== run) {
      await keepCurrentTagged(s3, bucket, repoDir, written());
      return outcomeOf('lost-race', version);
    }
    current = { manifest: met.manifest, etag: met.etag };
  }
  const { retired } = await settleSnapshot(s3, { bucket, repoDir, current, now });
  return outcomeOf('stored', version, {
    files: files.length,
    bytes: files.reduce((sum, file) => sum + file.bytes, 0),
    downloaded: files.filter((file) => file.downloaded).length,
    retired,
  });
};
