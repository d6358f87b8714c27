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
import type { CacheConfig } from '../../commons/config.js';
import { originRoute } from '../../commons/origins.js';
import { REPOMD, REPOMD_COMPANIONS, repodataPath, repomdPath } from '../../commons/repodata.js';
import {
  type CurrentSnapshot,
  readStoredManifest,
  type SnapshotFile,
  type SnapshotManifest,
  type StoredManifest,
} from '../../commons/snapshot-manifest.js';
import { parseRepomd, type Repomd, RepomdError } from '../repomd.js';
import { DEFAULT_ORIGIN_IDLE_TIMEOUT_MS } from '../upload.js';
import { claimDownload } from '../upload-claim.js';
import { writeManifest } from './commit.js';
import {
  COMPANION_MISSING,
  fetchSmall,
  MAX_COMPANION_BYTES,
  MAX_REPOMD_BYTES,
  REPOMD_MISSING,
  type SmallFile,
} from './origin-files.js';
import {
  type SnapshotDependencies,
  SnapshotIncompleteError,
  type SnapshotOutcome,
  type SnapshotResult,
} from './outcome.js';
import { settleSnapshot } from './retire.js';
import { type StoredFile, storeListedFile, storeSmallFile } from './store.js';
import { olderThanCurrent, verifyUnchanged } from './verify.js';

export type { SnapshotDependencies, SnapshotOutcome, SnapshotResult } from './outcome.js';

type FetchedFile = Extract<SmallFile, { kind: 'file' }>;

/** One version of the repository as the origin served it: repomd.xml and the companions fetched right after it. */
interface OriginVersion {
  readonly repoDir: string;
  readonly repomd: FetchedFile;
  readonly parsed: Repomd;
  readonly companions: ReadonlyMap<string, FetchedFile>;
  readonly absent: readonly string[];
}

const urlOf = (config: CacheConfig, path: string): string => originRoute(config, path).urls[0];

/** The companions of the repomd.xml just fetched: stored, or absent (any 4xx: an optional file). */
const fetchCompanions = async (config: CacheConfig, repoDir: string, idleTimeoutMs: number) => {
  const companions = new Map<string, FetchedFile>();
  const absent: string[] = [];
  for (const companion of REPOMD_COMPANIONS) {
    const fetched = await fetchSmall(urlOf(config, `${repoDir}${companion}`), {
      maxBytes: MAX_COMPANION_BYTES,
      idleTimeoutMs,
      isMissing: COMPANION_MISSING,
    });
    if (fetched.kind === 'missing') absent.push(companion);
    else companions.set(companion, fetched);
  }
  return { companions, absent };
};

/** What the current snapshot means for this version: nothing to do, a version to refuse, or none. */
const judge = (version: OriginVersion, current: SnapshotManifest | undefined): SnapshotResult | undefined => {
  const taken = { snapshotId: version.repomd.sha256, originStatus: version.repomd.status };
  if (current?.id === version.repomd.sha256 && current.settled) return { outcome: 'already-current', ...taken };
  const older = olderThanCurrent(version.parsed, current);
  if (older !== undefined) return { outcome: 'outdated', reason: older, ...taken };
  return undefined;
};

const outcomeOf = (outcome: SnapshotOutcome, version: OriginVersion, extra: Partial<SnapshotResult> = {}) => ({
  outcome,
  snapshotId: version.repomd.sha256,
  originStatus: version.repomd.status,
  ...extra,
});

/**
 * Takes the snapshot of the repository whose repomd.xml is `path`, unless the
 * current one is of the same repomd.xml (compared byte for byte, by SHA-256),
 * or of a newer one, or another uploader holds the claim on it.
 *
 * Origin failures other than a missing file and S3 errors throw, for Lambda's retry.
 */
export const takeSnapshot = async (path: string, deps: SnapshotDependencies): Promise<SnapshotResult> => {
  const { config, s3, claim, originIdleTimeoutMs = DEFAULT_ORIGIN_IDLE_TIMEOUT_MS } = deps;
  const repoDir = repodataPath(path)?.repoDir ?? '';
  const repomdUrl = urlOf(config, repomdPath(repoDir));
  let version: OriginVersion;
  try {
    const repomd = await fetchSmall(repomdUrl, {
      maxBytes: MAX_REPOMD_BYTES,
      idleTimeoutMs: originIdleTimeoutMs,
      isMissing: REPOMD_MISSING,
    });
    if (repomd.kind === 'missing') return { outcome: 'origin-missing', originStatus: repomd.status };
    let parsed: Repomd;
    try {
      parsed = await parseRepomd(repomd.bytes.toString('utf8'), repoDir);
    } catch (error) {
      if (!(error instanceof RepomdError)) throw error;
      return {
        outcome: 'corrupt',
        reason: `repomd.xml: ${error.message}`,
        snapshotId: repomd.sha256,
        originStatus: repomd.status,
      };
    }
    version = { repoDir, repomd, parsed, ...(await fetchCompanions(config, repoDir, originIdleTimeoutMs)) };
  } catch (error) {
    if (error instanceof SnapshotIncompleteError) return { outcome: 'corrupt', reason: error.message };
    throw error;
  }

  const early = judge(version, (await readStoredManifest(s3, config.bucketName, repoDir))?.manifest);
  if (early !== undefined) return early;
  if (claim === undefined) return underClaim(version, deps);
  const claimed = await claimDownload(s3, config.bucketName, repomdPath(repoDir), claim);
  if (!claimed.claimed) {
    const until = new Date(claimed.expiresAt).toISOString();
    return outcomeOf('claimed-elsewhere', version, { reason: `held by ${claimed.heldBy} until ${until}` });
  }
  try {
    return await underClaim(version, deps);
  } finally {
    await claimed.release().catch(() => undefined);
  }
};

/** The rest of the run, with no other run of this repository at work (or none expected: no claim). */
const underClaim = async (version: OriginVersion, deps: SnapshotDependencies): Promise<SnapshotResult> => {
  const { config, s3, now = () => new Date() } = deps;
  const { repoDir } = version;
  // Read again: the previous claim holder may have just made a snapshot current.
  let stored: StoredManifest | undefined = await readStoredManifest(s3, config.bucketName, repoDir);
  if (stored?.manifest !== undefined && !stored.manifest.settled) {
    // A run that stopped after its commit: finish it before anything else.
    const current = { manifest: stored.manifest, etag: stored.etag };
    const { retired } = await settleSnapshot(s3, { bucket: config.bucketName, repoDir, current, now });
    stored = await readStoredManifest(s3, config.bucketName, repoDir);
    if (stored?.manifest?.id === version.repomd.sha256) return outcomeOf('already-current', version, { retired });
  }
  const verdict = judge(version, stored?.manifest);
  if (verdict !== undefined) return verdict;
  try {
    return await storeAndCommit(version, stored, deps);
  } catch (error) {
    if (error instanceof SnapshotIncompleteError) return outcomeOf('incomplete', version, { reason: error.message });
    throw error;
  }
};

const storeAndCommit = async (
  version: OriginVersion,
  stored: StoredManifest | undefined,
  deps: SnapshotDependencies,
): Promise<SnapshotResult> => {
  const { config, s3, originIdleTimeoutMs = DEFAULT_ORIGIN_IDLE_TIMEOUT_MS, now = () => new Date() } = deps;
  const { repoDir, repomd, parsed, companions, absent } = version;
  const previous = stored?.manifest;
  const context = {
    repoDir,
    current: new Set(Object.values(previous?.files ?? {}).map(({ key }) => key)),
    deps,
  };
  const files: StoredFile[] = [];
  for (const listed of parsed.files) files.push(await storeListedFile(listed, context));
  for (const [companion, fetched] of companions) files.push(await storeSmallFile(companion, fetched, context));
  files.push(await storeSmallFile(REPOMD, repomd, context));
  await verifyUnchanged(urlOf(config, repomdPath(repoDir)), repomd.sha256, originIdleTimeoutMs);

  const manifest: SnapshotManifest = {
    id: repomd.sha256,
    createdAt: `${now().toISOString().slice(0, 19)}Z`,
    validators: repomd.validators,
    ...(parsed.revision === undefined ? {} : { revision: parsed.revision }),
    ...(parsed.newestTimestamp === undefined ? {} : { newestTimestamp: parsed.newestTimestamp }),
    files: Object.fromEntries(files.map(({ path, file }): [string, SnapshotFile] => [path, file])),
    absent,
    ...(previous === undefined ? {} : { previous: { id: previous.id, files: previous.files } }),
    settled: false,
  };
  const write = await writeManifest(s3, { bucket: config.bucketName, repoDir, manifest, etag: stored?.etag });
  if (!write.written) return outcomeOf('lost-race', version);
  const current: CurrentSnapshot = { manifest, etag: write.etag };
  const { retired } = await settleSnapshot(s3, { bucket: config.bucketName, repoDir, current, now });
  return outcomeOf('stored', version, {
    files: files.length,
    bytes: files.reduce((sum, file) => sum + file.bytes, 0),
    downloaded: files.filter((file) => file.downloaded).length,
    retired,
  });
};
