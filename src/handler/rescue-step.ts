/**
 * A file the origin lost and the cache does not hold, with RESCUE_URLS set:
 * the uploader is asked to rescue it from an archive (it does so only when
 * it knows the file's checksum), unless a rescue of the same bytes failed
 * lately: then the answer says so, with the reason, and nobody tries
 * again until the record allows it (an hour; minutes after archive trouble).
 */
import { type RescueRecord, readRescueRecord, recordStillAnswers, retryAfterMs } from '../commons/rescue-request.js';
import type { RedirectDecision } from './redirect.js';
import { type Asked, trigger, triggerFacts } from './request-steps.js';

/** What the handler says of a rescue (`X-Cache-Rescue`). */
export type RescueState = 'trying' | 'failed';

/** The record of a failed rescue of the request's file that still answers for it, if any. */
const failedRescue = async ({ path, deps, deadline, expected }: Asked) => {
  const record = await readRescueRecord(deps.s3, { bucket: deps.config.bucketName, path, abortSignal: deadline });
  return recordStillAnswers(record, expected, Date.now()) ? record : undefined;
};

/** Why a failure on record answers this request: a snapshot's other bytes are said first, or the request's own look lost. */
const reasonFor = (failed: RescueRecord, { expected }: Asked): string =>
  expected === undefined || failed.sha256 === undefined || failed.sha256 === expected.sha256
    ? failed.reason
    : `a snapshot of the repository lists sha256 ${failed.sha256}, not the requested ${expected.sha256}: ${failed.reason}`;

/** The rescue's part of the answer: a failure on record, or the uploader asked to try. */
export const askRescue = async (
  asked: Asked,
  memoKey: string,
): Promise<Pick<RedirectDecision, 'rescue' | 'rescueReason' | 'uploadTriggered' | 'uploadAlreadyTriggered'>> => {
  const failed = await failedRescue(asked);
  if (failed !== undefined) {
    // When it was tried and when it will be again, so a client that fixed the cause knows why nothing changed yet.
    const retry = new Date(Date.parse(failed.at) + retryAfterMs(failed)).toISOString();
    const rescueReason = `tried at ${failed.at}, again after ${retry}: ${reasonFor(failed, asked)}`;
    return { rescue: 'failed', rescueReason, uploadTriggered: false };
  }
  // A request naming other bytes (or the first to name any) is another rescue: not one this container triggered lately.
  const rescueKey = asked.expected === undefined ? memoKey : `${memoKey}#sha256:${asked.expected.sha256}`;
  return { rescue: 'trying', ...triggerFacts(await trigger(asked, rescueKey)) };
};
