/**
 * Mirroring on snapshot: when a snapshot of a mirrored repository becomes
 * current, every RPM it lists that the cache does not hold yet goes to the
 * mirror queue as an upload (the uploader's own event, with the listing's
 * checksum), where the uploader takes them with a bounded concurrency.
 * A marker per snapshot says its uploads were queued: a run that stopped
 * before it (a crash, an SQS error) is finished by the next check of the
 * repository, which finds the snapshot current and no marker.
 */

import { PutObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { isCached } from '../../commons/cache-store.js';
import type { CacheConfig } from '../../commons/config.js';
import { cacheKey, isCacheable } from '../../commons/paths.js';
import { type PrimaryPackage, primaryPackages } from '../../commons/primary-packages.js';
import { SNAPSHOT_KEY_PREFIX } from '../../commons/repodata.js';
import { SOURCE_RPM } from '../../commons/rescue-request.js';
import { readCurrentSnapshot, type SnapshotFiles } from '../../commons/snapshot-manifest.js';
import type { UploaderEvent } from '../../handler/uploader-trigger.js';
import { rejectionReason } from '../middlewares/uploader-event.js';
import { openSnapshotPrimary, SnapshotPrimaryError } from '../snapshot-primary.js';
import type { SendMessageBatch } from './sqs-sender.js';

export interface MirrorDependencies {
  readonly config: CacheConfig;
  readonly s3: S3Client;
  readonly sendMessageBatch: SendMessageBatch;
  readonly queueUrl: string;
}

export interface MirrorResult {
  /** `unreadable`: the snapshot's primary.xml cannot be read (a compression Node lacks): nothing to queue, marked so. */
  readonly outcome: 'queued' | 'already-queued' | 'superseded' | 'unreadable';
  readonly reason?: string;
  /** RPMs the snapshot lists, those stored already, and those queued now. */
  readonly listed?: number;
  readonly stored?: number;
  readonly queued?: number;
  /** Listed files whose path the cache cannot take (never queued; logged). */
  readonly unfit?: number;
}

/** The marker of a snapshot whose uploads were all queued. */
export const mirroredKey = (repoDir: string, snapshotId: string): string =>
  `${SNAPSHOT_KEY_PREFIX}mirrored/${repoDir}repodata/${snapshotId}.json`;

/** Every key the cache holds under `repoDir` (a ListObjectsV2 page per 1,000). */
const storedKeys = async (s3: S3Client, bucket: string, repoDir: string): Promise<Set<string>> => {
  const keys = new Set<string>();
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: cacheKey(repoDir) })) {
    for (const { Key } of page.Contents ?? []) if (Key !== undefined) keys.add(Key);
  }
  return keys;
};

/** The upload a listed package becomes, or undefined when its path is not one the uploader takes. */
const uploadOf = (repoDir: string, listed: PrimaryPackage, config: CacheConfig, triggeredBy: string) => {
  // A package at another base URL is not this repository's file.
  if (listed.elsewhere === true) return undefined;
  if (listed.href.startsWith('/') || listed.href.split('/').includes('..')) return undefined;
  const path = `${repoDir}${listed.href}`;
  const event: UploaderEvent = {
    path,
    triggeredBy,
    ...(listed.algorithm === 'sha256'
      ? {
          expect: {
            sha256: listed.checksum,
            ...(listed.size === undefined ? {} : { size: listed.size }),
            // A source package's own entry names none (`<rpm:sourcerpm/>`): the event would be refused with it.
            ...(listed.sourceRpm !== undefined && SOURCE_RPM.test(listed.sourceRpm)
              ? { sourceRpm: listed.sourceRpm }
              : {}),
          },
        }
      : {}),
  };
  // Only what the queue's consumer takes: its own check (uploader-event), a file and not a repodata/repomd.xml.
  return isCacheable(path, config.cacheExtensions) && rejectionReason(event, config.cacheExtensions) === undefined
    ? event
    : undefined;
};

/** SQS takes ten messages a batch. */
const BATCH = 10;
/** Batches in flight at once: a repository of 30,000 RPMs is queued in seconds, well within SQS's limits. */
const BATCHES_AT_ONCE = 8;
/** Entries SQS failed for its own reasons are sent again this many times before the run fails. */
const SEND_ATTEMPTS = 3;

/** Sends one batch; entries that fail are sent again, and still failing, throw (Lambda's retry finishes the run). */
const sendBatch = async (sendMessageBatch: SendMessageBatch, queueUrl: string, events: readonly UploaderEvent[]) => {
  let pending = events.map((event, index) => ({ Id: String(index), MessageBody: JSON.stringify(event) }));
  for (let attempt = 1; pending.length > 0; attempt += 1) {
    const answer = await sendMessageBatch({ QueueUrl: queueUrl, Entries: pending });
    const failed = new Set((answer.Failed ?? []).map(({ Id }) => Id));
    if (failed.size > 0 && attempt >= SEND_ATTEMPTS) {
      const first = answer.Failed?.[0];
      throw new Error(
        `SQS refused ${failed.size} mirror uploads: ${first?.Code ?? '?'} ${first?.Message ?? ''}`.trim(),
      );
    }
    pending = pending.filter(({ Id }) => failed.has(Id));
  }
};

const sendAll = async (sendMessageBatch: SendMessageBatch, queueUrl: string, events: readonly UploaderEvent[]) => {
  const batches: UploaderEvent[][] = [];
  for (let at = 0; at < events.length; at += BATCH) batches.push(events.slice(at, at + BATCH));
  let next = 0;
  const worker = async () => {
    for (let batch = batches[next++]; batch !== undefined; batch = batches[next++]) {
      await sendBatch(sendMessageBatch, queueUrl, batch);
    }
  };
  await Promise.all(Array.from({ length: Math.min(BATCHES_AT_ONCE, batches.length) }, worker));
};

/** The uploads of every package the snapshot's primary.xml lists, and how many it lists and the cache cannot take. */
const listedUploads = async (
  repoDir: string,
  files: SnapshotFiles,
  { config, s3, triggeredBy }: { config: CacheConfig; s3: S3Client; triggeredBy: string },
) => {
  const text = await openSnapshotPrimary(
    s3,
    { bucket: config.bucketName, repoDir, files },
    AbortSignal.timeout(600_000),
  );
  text.setEncoding('utf8');
  const uploads: UploaderEvent[] = [];
  let listed = 0;
  let unfit = 0;
  try {
    for await (const found of primaryPackages(text)) {
      listed += 1;
      const upload = uploadOf(repoDir, found, config, triggeredBy);
      if (upload === undefined) unfit += 1;
      else uploads.push(upload);
    }
  } finally {
    text.destroy();
  }
  return { listed, unfit, uploads };
};

/**
 * Queues the upload of every RPM the current snapshot of `repoDir` (of id
 * `snapshotId`) lists and the cache does not hold, once per snapshot. S3
 * and SQS errors throw, for Lambda's retry.
 */
export const mirrorSnapshot = async (
  repoDir: string,
  snapshotId: string,
  { config, s3, sendMessageBatch, queueUrl }: MirrorDependencies,
): Promise<MirrorResult> => {
  const bucket = config.bucketName;
  const marker = mirroredKey(repoDir, snapshotId);
  // A HEAD (isCached): its answer has no body to read (an unread GetObject body keeps its socket).
  if (await isCached(s3, bucket, marker)) return { outcome: 'already-queued' };
  const current = await readCurrentSnapshot(s3, bucket, repoDir);
  // A newer snapshot is current: its own run mirrors it.
  if (current?.manifest.id !== snapshotId) return { outcome: 'superseded' };
  const triggeredBy = `mirror:${snapshotId.slice(0, 12)}`;
  let held: Set<string>;
  let listing: Awaited<ReturnType<typeof listedUploads>>;
  try {
    // Both at once; awaited together, so a failure of either is the run's error and neither is left unhandled.
    [held, listing] = await Promise.all([
      storedKeys(s3, bucket, repoDir),
      listedUploads(repoDir, current.manifest.files, { config, s3, triggeredBy }),
    ]);
  } catch (error) {
    // Retrying cannot help: marked, so later checks of this snapshot do not fail again.
    if (!(error instanceof SnapshotPrimaryError)) throw error;
    const result = { outcome: 'unreadable', reason: error.message } as const;
    await mark(s3, bucket, marker, result);
    return result;
  }
  const { listed, unfit, uploads } = listing;
  const missing = uploads.filter(({ path }) => !held.has(cacheKey(path)));
  await sendAll(sendMessageBatch, queueUrl, missing);
  const result = {
    outcome: 'queued',
    listed,
    stored: uploads.length - missing.length,
    queued: missing.length,
    unfit,
  } as const;
  await mark(s3, bucket, marker, result);
  return result;
};

const mark = async (s3: S3Client, bucket: string, marker: string, result: MirrorResult) => {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: marker,
      Body: JSON.stringify({ ...result, at: new Date().toISOString() }),
      ContentType: 'application/json',
    }),
  );
};
