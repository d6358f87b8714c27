/**
 * Writes the record of a refused origin copy (read by the handler:
 * commons/upload-refusal.ts), replacing any earlier one: the newest
 * refusal is the one about the copy the origin serves now.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { OriginValidators } from '../commons/repodata.js';
import { type RefusalRecord, refusalRecordKey } from '../commons/upload-refusal.js';

export const recordRefusal = async (
  s3: S3Client,
  bucket: string,
  path: string,
  {
    reason,
    validators,
    ttlMs,
    now = Date.now(),
  }: {
    reason: string;
    validators: OriginValidators;
    ttlMs: number;
    now?: number;
  },
): Promise<void> => {
  const record: RefusalRecord = {
    outcome: 'refused',
    at: new Date(now).toISOString(),
    until: new Date(now + ttlMs).toISOString(),
    // One line: it becomes a header.
    reason: reason.replace(/\s+/g, ' ').trim(),
    validators,
  };
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: refusalRecordKey(path),
      Body: JSON.stringify(record),
      ContentType: 'application/json',
    }),
  );
};
