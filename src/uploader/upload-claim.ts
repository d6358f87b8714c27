/**
 * A short-lived claim on one download, so a burst of misses handled by many
 * Lambda containers downloads a file once. The claim is an S3 object under
 * `claims/` created with `If-None-Match: *`; it names its owner and when it
 * expires (when the owner's own Lambda timeout is over), so a claim whose
 * owner died is taken over, conditionally on its ETag, by the next uploader.
 */
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isS3ConditionRefused, isS3NotFound } from '../commons/aws-errors.js';

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
 * Tries to claim the download of `path`. Succeeds when no claim exists or the
 * existing one expired; otherwise says who holds it and until when.
 */
export const claimDownload = (
  s3: S3Client,
  bucket: string,
  path: string,
  options: ClaimOptions,
): Promise<ClaimResult> => claimWithRetries(s3, bucket, path, options, 2);

const claimWithRetries = async (
  s3: S3Client,
  bucket: string,
  path: string,
  { owner, ttlMs, now = Date.now }: ClaimOptions,
  retriesLeft: number,
): Promise<ClaimResult> => {
  const key = claimKey(path);
  const body: ClaimBody = { owner, expiresAt: now() + ttlMs };
  const write = (condition: { IfNoneMatch: '*' } | { IfMatch: string }) =>
    s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: JSON.stringify(body),
        ContentType: 'application/json',
        ...condition,
      }),
    );
  const release = async () => {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  };

  try {
    await write({ IfNoneMatch: '*' });
    return { claimed: true, release };
  } catch (error) {
    if (!isS3ConditionRefused(error)) throw error;
  }

  let existing: { claim: ClaimBody | undefined; etag: string | undefined };
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    existing = { claim: parseClaim((await object.Body?.transformToString()) ?? ''), etag: object.ETag };
  } catch (error) {
    // Released between our write and this read: the way is free, try once more.
    if (!isS3NotFound(error) || retriesLeft === 0) throw error;
    return claimWithRetries(s3, bucket, path, { owner, ttlMs, now }, retriesLeft - 1);
  }

  if (existing.claim !== undefined && existing.claim.expiresAt > now()) {
    return { claimed: false, heldBy: existing.claim.owner, expiresAt: existing.claim.expiresAt };
  }
  if (existing.etag === undefined) {
    return { claimed: false, heldBy: 'unknown', expiresAt: now() };
  }
  try {
    await write({ IfMatch: existing.etag });
    return { claimed: true, release };
  } catch (error) {
    if (!isS3ConditionRefused(error)) throw error;
    return { claimed: false, heldBy: 'another uploader taking over', expiresAt: now() + ttlMs };
  }
};
