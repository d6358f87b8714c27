/**
 * A short-lived claim on one download, so a burst of misses handled by many
 * Lambda containers downloads a file once. The claim is an S3 object under
 * `claims/` created with `If-None-Match: *`; it names its owner and when it
 * expires (when the owner's own Lambda timeout is over), so a claim whose
 * owner died is taken over, conditionally on its ETag, by the next uploader,
 * and a live claim of its own (Lambda's retry of a crashed run keeps the
 * request id) by the run that made it.
 */

import { setTimeout as wait } from 'node:timers/promises';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isS3ConditionalConflict, isS3ConditionRefused, isS3NotFound } from '../commons/aws-errors.js';

export const CLAIM_KEY_PREFIX = 'claims/';

export const claimKey = (path: string): string => `${CLAIM_KEY_PREFIX}${path}`;

export interface ClaimOptions {
  /** Who claims, e.g. the Lambda request id. */
  readonly owner: string;
  /** How long the claim holds: the owner's remaining run time. */
  readonly ttlMs: number;
  readonly now?: () => number;
}

export type ClaimResult =
  | { readonly claimed: true; readonly release: () => Promise<void> }
  | { readonly claimed: false; readonly heldBy: string; readonly expiresAt: number };

interface ClaimBody {
  readonly owner: string;
  readonly expiresAt: number;
}

const parseClaim = (text: string): ClaimBody | undefined => {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { owner, expiresAt } = parsed as Record<string, unknown>;
    return typeof owner === 'string' && typeof expiresAt === 'number' ? { owner, expiresAt } : undefined;
  } catch {
    return undefined;
  }
};

/**
 * What S3 holds under `claims/<path>`, as an uploader finds it:
 * - `free`: no claim (never made, or released since);
 * - `live`: a claim whose owner may still be working;
 * - `expired`: a claim whose owner's time is up (or whose body is unreadable),
 *   to be taken over conditionally on its ETag;
 * - `unverifiable`: a claim without an ETag, which cannot be taken over safely.
 */
type ClaimState =
  | { readonly kind: 'free' }
  | { readonly kind: 'live'; readonly owner: string; readonly expiresAt: number; readonly etag: string | undefined }
  | { readonly kind: 'expired'; readonly etag: string }
  | { readonly kind: 'unverifiable' };

/**
 * Attempts at the claim while it keeps changing under us: released between our
 * write and our read, or a write meeting a DELETE in flight (409). In a burst,
 * every claimant that wins finds the file stored and releases at once, so the
 * others meet a key that appears and disappears; eight attempts with jittered
 * pauses let a crowd of 50 settle (a fixed three did not: the bench's burst).
 */
const CLAIM_ATTEMPTS = 8;

type ClaimCondition = { IfNoneMatch: '*' } | { IfMatch: string };

/**
 * The pause before another attempt: "full jitter" (AWS Architecture Blog,
 * "Exponential Backoff And Jitter"), random up to 25 ms doubled per attempt,
 * at most 1.6 s, so claimants that collided once do not collide again in step.
 */
const pauseBeforeAttempt = (attempt: number): Promise<void> => wait(Math.random() * Math.min(1_600, 25 * 2 ** attempt));

/**
 * Writes the claim if `condition` holds; false when S3 refused it for the
 * condition (412), or answered 409: another claim write was in flight and
 * nothing was decided. After a short pause the caller reads the claim and,
 * when it is still free, writes again, as AWS says to.
 */
const writeClaim = async (
  s3: S3Client,
  { bucket, key, body, condition }: { bucket: string; key: string; body: ClaimBody; condition: ClaimCondition },
  attempt: number,
): Promise<boolean> => {
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: JSON.stringify(body),
        ContentType: 'application/json',
        ...condition,
      }),
    );
    return true;
  } catch (error) {
    if (isS3ConditionRefused(error)) return false;
    if (!isS3ConditionalConflict(error)) throw error;
    await pauseBeforeAttempt(attempt);
    return false;
  }
};

/**
 * Tries to claim the download of `path`. Succeeds when no claim exists or the
 * existing one expired; otherwise says who holds it and until when.
 */
export const claimDownload = async (
  s3: S3Client,
  bucket: string,
  path: string,
  { owner, ttlMs, now = Date.now }: ClaimOptions,
): Promise<ClaimResult> => {
  const key = claimKey(path);
  let attempt = 0;
  const write = (condition: ClaimCondition) =>
    writeClaim(s3, { bucket, key, body: { owner, expiresAt: now() + ttlMs }, condition }, attempt);
  const claimed: ClaimResult = {
    claimed: true,
    release: async () => {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
  };

  for (; attempt < CLAIM_ATTEMPTS; attempt += 1) {
    if (await write({ IfNoneMatch: '*' })) return claimed;
    const state = await readClaim(s3, bucket, key, now);
    switch (state.kind) {
      case 'free':
        // Released between our write and our read: try again, after the others.
        await pauseBeforeAttempt(attempt);
        continue;
      case 'live':
        // Lambda's retry of a crashed run (out of memory, timed out) has the same request id: its own claim.
        if (state.owner === owner && state.etag !== undefined && (await write({ IfMatch: state.etag }))) {
          return claimed;
        }
        return { claimed: false, heldBy: state.owner, expiresAt: state.expiresAt };
      case 'unverifiable':
        return { claimed: false, heldBy: 'a claim without an ETag', expiresAt: now() };
      case 'expired':
        // Conditional on the ETag: of two uploaders taking over, one wins.
        if (await write({ IfMatch: state.etag })) return claimed;
        return { claimed: false, heldBy: 'another uploader taking over', expiresAt: now() + ttlMs };
    }
  }
  throw new ClaimContentionError(`the claim on ${path} kept changing: ${CLAIM_ATTEMPTS} attempts`);
};

/** The claim kept appearing and disappearing under us: treat as a transient failure, for a retry. */
export class ClaimContentionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClaimContentionError';
  }
}

const readClaim = async (s3: S3Client, bucket: string, key: string, now: () => number): Promise<ClaimState> => {
  let body: ClaimBody | undefined;
  let etag: string | undefined;
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    body = parseClaim((await object.Body?.transformToString()) ?? '');
    etag = object.ETag;
  } catch (error) {
    if (isS3NotFound(error)) return { kind: 'free' };
    throw error;
  }
  if (body !== undefined && body.expiresAt > now())
    return { kind: 'live', owner: body.owner, expiresAt: body.expiresAt, etag };
  return etag === undefined ? { kind: 'unverifiable' } : { kind: 'expired', etag };
};
