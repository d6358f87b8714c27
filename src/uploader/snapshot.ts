/**
 * The uploader's second use case: a consistent snapshot of a repository's
 * metadata. It reads the origin's repomd.xml, stores every file it lists, each
 * verified while it streams against the size and checksum repomd.xml gives,
 * plus repomd.xml's `.asc` and `.key` when the origin has them, and only then
 * makes the snapshot current (see commons/repodata). A snapshot that cannot be
 * completed is never current; the previous one stays.
 */
import { createHash } from 'node:crypto';
import { PutObjectCommand, PutObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import { isS3ConditionalConflict, isS3ConditionRefused } from '../commons/aws-errors.js';
import { isCached } from '../commons/cache-store.js';
import type { CacheConfig } from '../commons/config.js';
import { originRoute } from '../commons/origins.js';
import {
  type CurrentSnapshot,
  manifestKey,
  type OriginValidators,
  REPOMD,
  REPOMD_COMPANIONS,
  readCurrentSnapshot,
  repodataPath,
  repomdPath,
  SNAPSHOT_TAG,
  type SnapshotManifest,
  type SnapshotTagValue,
  snapshotFileKey,
  validatorsOf,
} from '../commons/repodata.js';
import { DigestGuard, DigestMismatchError } from './digest-guard.js';
import { checkedBody, openOrigin } from './origin-get.js';
import { type ListedFile, parseRepomd, RepomdError } from './repomd.js';
import { putOnce } from './store-once.js';
import { DEFAULT_ORIGIN_IDLE_TIMEOUT_MS } from './upload.js';
import { type ClaimOptions, claimDownload } from './upload-claim.js';
import { ConditionalWriteConflictError, IncompleteDownloadError } from './upload-errors.js';

/**
 * - `stored`: a new snapshot is current;
 * - `already-current`: the origin's repomd.xml is the current snapshot's;
 * - `origin-missing`: the origin has no repomd.xml (404/410);
 * - `incomplete`: a listed file is missing or not what repomd.xml says (a mirror mid-sync); nothing changed;
 * - `corrupt`: what the origin serves is not a repomd.xml a client could use;
 * - `claimed-elsewhere`, `lost-race`: another uploader is making, or made, the snapshot.
 */
export type SnapshotOutcome =
  | 'stored'
  | 'already-current'
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
  /** Files stored and their bytes, for `stored`. */
  readonly files?: number;
  readonly bytes?: number;
  readonly reason?: string;
  /** Keys of the superseded snapshot whose expiry tag could not be set (they stay until tagged by hand). */
  readonly untaggedKeys?: number;
}

export interface SnapshotDependencies {
  readonly config: CacheConfig;
  readonly s3: S3Client;
  readonly claim?: ClaimOptions;
  readonly originIdleTimeoutMs?: number;
  readonly partSize?: number;
}

/** repomd.xml of Fedora's largest repositories is ~10 KB; anything near this is not one. */
export const MAX_REPOMD_BYTES = 1024 * 1024;
/** A detached signature or an armored public key. */
export const MAX_COMPANION_BYTES = 256 * 1024;

const TAGGING = (value: SnapshotTagValue) => `${SNAPSHOT_TAG}=${value}`;

/** The snapshot could not be completed for a reason retrying now cannot mend. */
class SnapshotIncomplete extends Error {}

type SmallFile =
  | { readonly kind: 'missing'; readonly status: number }
  | { readonly kind: 'file'; readonly bytes: Buffer; readonly status: number; readonly validators: OriginValidators };

/** GETs a small origin file whole, refusing more than `maxBytes`. */
const fetchSmall = async (url: string, maxBytes: number, idleTimeoutMs: number): Promise<SmallFile> => {
  const request = new AbortController();
  const answer = await openOrigin(url, request, idleTimeoutMs);
  if (answer.kind === 'missing') return answer;
  if (answer.kind === 'encoded')
    throw new SnapshotIncomplete(`${url}: origin sent Content-Encoding ${answer.encoding}`);
  const chunks: Buffer[] = [];
  let size = 0;
  const idle = setTimeout(() => request.abort(), idleTimeoutMs);
  try {
    for await (const chunk of answer.response.body) {
      size += chunk.byteLength;
      if (size > maxBytes) {
        request.abort();
        throw new SnapshotIncomplete(`${url} is larger than ${maxBytes} bytes`);
      }
      chunks.push(Buffer.from(chunk));
      idle.refresh();
    }
  } catch (error) {
    if (error instanceof SnapshotIncomplete) throw error;
    throw new IncompleteDownloadError(`origin body of ${url} failed after ${size} bytes`, { cause: error });
  } finally {
    clearTimeout(idle);
  }
  return {
    kind: 'file',
    bytes: Buffer.concat(chunks),
    status: answer.response.status,
    validators: validatorsOf(answer.response.headers),
  };
};

/**
 * Takes the snapshot of the repository whose repomd.xml is `path`, unless the
 * current one is of the same repomd.xml (compared byte for byte, by SHA-256)
 * or another uploader holds the claim on it.
 *
 * Origin failures other than 404/410 and S3 errors throw, for Lambda's retry.
 */
export const takeSnapshot = async (path: string, deps: SnapshotDependencies): Promise<SnapshotResult> => {
  const { config, s3, claim, originIdleTimeoutMs = DEFAULT_ORIGIN_IDLE_TIMEOUT_MS } = deps;
  const repoDir = repodataPath(path)?.repoDir ?? '';
  let repomd: SmallFile;
  try {
    repomd = await fetchSmall(originRoute(config, repomdPath(repoDir)).urls[0], MAX_REPOMD_BYTES, originIdleTimeoutMs);
  } catch (error) {
    if (error instanceof SnapshotIncomplete) return { outcome: 'corrupt', reason: error.message };
    throw error;
  }
  if (repomd.kind === 'missing') return { outcome: 'origin-missing', originStatus: repomd.status };
  const snapshotId = createHash('sha256').update(repomd.bytes).digest('hex');
  const taken = { snapshotId, originStatus: repomd.status };

  const isCurrent = (current: CurrentSnapshot | undefined) => current?.manifest.id === snapshotId;
  let current = await readCurrentSnapshot(s3, config.bucketName, repoDir);
  if (isCurrent(current)) return { outcome: 'already-current', ...taken };
  let listed: readonly ListedFile[];
  try {
    listed = await parseRepomd(repomd.bytes.toString('utf8'), repoDir);
  } catch (error) {
    if (error instanceof RepomdError) return { outcome: 'corrupt', reason: `repomd.xml: ${error.message}`, ...taken };
    throw error;
  }

  const store = async (): Promise<SnapshotResult> => {
    try {
      const stored = await storeSnapshot({ repoDir, snapshotId, repomd, listed, previous: current }, deps);
      return { ...taken, ...stored };
    } catch (error) {
      if (error instanceof SnapshotIncomplete) return { outcome: 'incomplete', reason: error.message, ...taken };
      throw error;
    }
  };
  if (claim === undefined) return store();
  const claimed = await claimDownload(s3, config.bucketName, repomdPath(repoDir), claim);
  if (!claimed.claimed) {
    const until = new Date(claimed.expiresAt).toISOString();
    return { outcome: 'claimed-elsewhere', reason: `held by ${claimed.heldBy} until ${until}`, ...taken };
  }
  try {
    // The previous claim holder may just have made this very snapshot current.
    current = await readCurrentSnapshot(s3, config.bucketName, repoDir);
    if (isCurrent(current)) return { outcome: 'already-current', ...taken };
    return await store();
  } finally {
    await claimed.release().catch(() => undefined);
  }
};

interface SnapshotPlan {
  readonly repoDir: string;
  readonly snapshotId: string;
  readonly repomd: Extract<SmallFile, { kind: 'file' }>;
  readonly listed: readonly ListedFile[];
  readonly previous: CurrentSnapshot | undefined;
}

/** Stores every file, then the manifest that makes them current; says what it stored. */
const storeSnapshot = async (plan: SnapshotPlan, deps: SnapshotDependencies): Promise<SnapshotResult> => {
  const { config, s3 } = deps;
  const { repoDir, snapshotId, repomd, listed, previous } = plan;
  const keyOf = (file: string) => snapshotFileKey(snapshotId, repoDir, file);
  const files: Record<string, string> = {};
  let bytes = 0;

  for (const file of listed) {
    bytes += await storeListedFile(file, keyOf(file.href), repoDir, deps);
    files[file.href] = keyOf(file.href);
  }
  const absent: string[] = [];
  for (const companion of REPOMD_COMPANIONS) {
    const fetched = await fetchSmall(
      originRoute(config, `${repoDir}${companion}`).urls[0],
      MAX_COMPANION_BYTES,
      deps.originIdleTimeoutMs ?? DEFAULT_ORIGIN_IDLE_TIMEOUT_MS,
    );
    if (fetched.kind === 'missing') {
      absent.push(companion);
      continue;
    }
    await putSmall(s3, config.bucketName, keyOf(companion), fetched.bytes);
    files[companion] = keyOf(companion);
    bytes += fetched.bytes.length;
  }
  await putSmall(s3, config.bucketName, keyOf(REPOMD), repomd.bytes);
  files[REPOMD] = keyOf(REPOMD);
  bytes += repomd.bytes.length;

  // Current before the manifest names them: a file the lifecycle rule could expire is never served.
  for (const key of Object.values(files)) await tag(s3, config.bucketName, key, 'current');
  const manifest: SnapshotManifest = {
    id: snapshotId,
    createdAt: new Date().toISOString(),
    validators: repomd.validators,
    files,
    absent,
  };
  if (!(await writeManifest(s3, config.bucketName, repoDir, manifest, previous))) {
    return { outcome: 'lost-race' };
  }
  const untaggedKeys = await retireSnapshot(s3, config.bucketName, previous, new Set(Object.values(files)));
  return {
    outcome: 'stored',
    files: Object.keys(files).length,
    bytes,
    ...(untaggedKeys > 0 ? { untaggedKeys } : {}),
  };
};

/**
 * Streams one listed file into `key`, verified against repomd.xml; returns its
 * size. A file stored by an earlier, unfinished run of the same snapshot was
 * verified before it was committed, and is kept.
 */
const storeListedFile = async (
  file: ListedFile,
  key: string,
  repoDir: string,
  { config, s3, partSize, originIdleTimeoutMs = DEFAULT_ORIGIN_IDLE_TIMEOUT_MS }: SnapshotDependencies,
): Promise<number> => {
  if (await isCached(s3, config.bucketName, key)) return file.size ?? 0;
  const request = new AbortController();
  const url = originRoute(config, `${repoDir}${file.href}`).urls[0];
  const answer = await openOrigin(url, request, originIdleTimeoutMs);
  if (answer.kind === 'missing') {
    throw new SnapshotIncomplete(`${file.href}: origin answered ${answer.status} (a mirror mid-sync?)`);
  }
  if (answer.kind === 'encoded') {
    throw new SnapshotIncomplete(`${file.href}: origin sent Content-Encoding ${answer.encoding}`);
  }
  const { body, guard } = checkedBody(answer.response, originIdleTimeoutMs, [new DigestGuard(file)]);
  try {
    // lost-race: the key was committed meanwhile, by a run that verified the same bytes.
    await putOnce(s3, {
      bucket: config.bucketName,
      key,
      body,
      contentType: 'application/octet-stream',
      tagging: TAGGING('unreferenced'),
      ...(partSize === undefined ? {} : { partSize }),
    });
    return guard.bytes;
  } catch (error) {
    request.abort();
    body.destroy();
    if (error instanceof DigestMismatchError) {
      throw new SnapshotIncomplete(`${file.href}: ${error.message} (a mirror mid-sync?)`);
    }
    throw error;
  }
};

const putSmall = async (s3: S3Client, bucket: string, key: string, body: Buffer): Promise<void> => {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: body,
      ContentType: key.endsWith('.xml') ? 'text/xml' : 'application/octet-stream',
      Tagging: TAGGING('unreferenced'),
    }),
  );
};

const tag = async (s3: S3Client, bucket: string, key: string, value: SnapshotTagValue): Promise<void> => {
  await s3.send(
    new PutObjectTaggingCommand({
      Bucket: bucket,
      Key: key,
      Tagging: { TagSet: [{ Key: SNAPSHOT_TAG, Value: value }] },
    }),
  );
};

/** Makes `manifest` current, unless the current one changed since it was read (false then). */
const writeManifest = async (
  s3: S3Client,
  bucket: string,
  repoDir: string,
  manifest: SnapshotManifest,
  previous: CurrentSnapshot | undefined,
): Promise<boolean> => {
  const condition = previous?.etag === undefined ? { IfNoneMatch: '*' } : { IfMatch: previous.etag };
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: manifestKey(repoDir),
        Body: JSON.stringify(manifest),
        ContentType: 'application/json',
        ...condition,
      }),
    );
    return true;
  } catch (error) {
    if (isS3ConditionRefused(error)) return false;
    if (isS3ConditionalConflict(error)) {
      // Nothing was decided: Lambda's retry finds this snapshot's files stored and writes the manifest again.
      throw new ConditionalWriteConflictError(`a conflicting write to ${manifestKey(repoDir)} was in flight (S3 409)`, {
        cause: error,
      });
    }
    throw error;
  }
};

/**
 * Tags the superseded snapshot's files for the lifecycle rule. Best effort:
 * the new snapshot is current already; a failure leaves files that do not
 * expire, and says how many.
 */
const retireSnapshot = async (
  s3: S3Client,
  bucket: string,
  previous: CurrentSnapshot | undefined,
  kept: ReadonlySet<string>,
): Promise<number> => {
  let failed = 0;
  for (const key of Object.values(previous?.manifest.files ?? {})) {
    if (kept.has(key)) continue;
    await tag(s3, bucket, key, 'unreferenced').catch(() => {
      failed += 1;
    });
  }
  return failed;
};
