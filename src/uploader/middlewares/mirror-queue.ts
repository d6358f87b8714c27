/**
 * The uploader's second front door: the mirror queue's event source mapping
 * delivers SQS events, each record's body an uploader event (`{ "path",
 * "expect" }`). Each record is validated as an async-invoke event is, then
 * handed to the same core; the answer tells SQS which records to deliver
 * again (`batchItemFailures`): those that failed, and those another
 * uploader holds the claim on (the retry then finds the file stored: it is
 * never downloaded twice). A malformed record is logged and dropped:
 * delivering it again cannot help.
 */
import { cleanupMiddlewares } from '@aws-lambda-powertools/commons';
import type { SQSBatchItemFailure, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { awsErrorFacts } from '../../commons/aws-errors.js';
import { type ErrorReporter, reportSafely } from '../../commons/error-reporting.js';
import { loggablePath } from '../../commons/loggable-path.js';
import { countUpload, metrics } from '../../commons/metrics.js';
import { logger } from '../../commons/powertools.js';
import { isSnapshotRequest } from '../../commons/repodata.js';
import type { UploaderBefore, UploaderContext, UploaderMiddleware, UploaderResponse } from './chain.js';
import { eventExpectation, eventPath, eventTrigger, rejectionReason } from './uploader-event.js';

export interface MirrorQueueOptions {
  readonly cacheExtensions: readonly string[];
  readonly reportError: ErrorReporter;
  /** The core, for one record's validated upload. */
  readonly upload: (context: UploaderContext) => Promise<UploaderResponse>;
}

const isSqsEvent = (event: unknown): event is { Records: SQSRecord[] } =>
  typeof event === 'object' &&
  event !== null &&
  'Records' in event &&
  Array.isArray(event.Records) &&
  event.Records.length > 0 &&
  event.Records.every(
    (record: unknown) =>
      typeof record === 'object' && record !== null && 'eventSource' in record && record.eventSource === 'aws:sqs',
  );

const parseBody = (body: string): unknown => {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
};

/** Whether SQS should deliver `record` again. */
const deliverAgain = async (
  record: SQSRecord,
  context: UploaderContext,
  { cacheExtensions, reportError, upload }: MirrorQueueOptions,
): Promise<boolean> => {
  const event = parseBody(record.body);
  const reason =
    event === undefined
      ? 'the record body is not JSON'
      : isSnapshotRequest(String(eventPath(event)))
        ? 'the mirror queue carries files to store, not repository snapshots'
        : rejectionReason(event, cacheExtensions);
  const messageId = record.messageId;
  if (reason !== undefined) {
    logger.error('upload', { outcome: 'rejected', reason, messageId, path: loggablePath(eventPath(event)) });
    countUpload('rejected');
    return false;
  }
  const path = String(eventPath(event));
  const expected = eventExpectation(event);
  const triggeredBy = eventTrigger(event);
  logger.appendKeys({
    messageId,
    receiveCount: record.attributes.ApproximateReceiveCount,
    ...(triggeredBy === undefined ? {} : { triggeredBy }),
  });
  try {
    // The queue's records come from the fan-out alone (only the uploader may send to it): their expectation is
    // the snapshot's listing, which the upload checks against instead of reading primary.xml again.
    const answer = await upload({
      ...context,
      cachePath: path,
      ...(expected === undefined ? {} : { expected, listedBySnapshot: true }),
    });
    return 'outcome' in answer && answer.outcome === 'claimed-elsewhere';
  } catch (error) {
    countUpload('failed');
    logger.error('upload', { outcome: 'failed', path, error, ...awsErrorFacts(error) });
    await reportSafely(reportError, error, { path });
    return true;
  } finally {
    logger.removeKeys(['messageId', 'receiveCount', 'triggeredBy']);
  }
};

/**
 * Answers an SQS event with the records to deliver again, one record after
 * the other (the mapping sends one at a time; a larger batch still works).
 * Any other event goes on down the chain.
 *
 * @example
 * middy<unknown, UploaderResponse, Error, UploaderContext>()
 *   .use(mirrorQueue({ cacheExtensions, reportError, upload: (context) => uploadRequest(undefined, context) }))
 *   .use(uploadFailure({ reportError }))
 *   .use(uploaderEvent({ cacheExtensions }))
 *   .handler(uploadRequest);
 */
export const mirrorQueue = (options: MirrorQueueOptions): UploaderMiddleware => {
  const mirrorQueueBefore: UploaderBefore = async (request) => {
    if (!isSqsEvent(request.event)) return;
    const batchItemFailures: SQSBatchItemFailure[] = [];
    for (const [index, record] of request.event.Records.entries()) {
      // Each record counted under its own Outcome: the one before's metrics go out first (one set holds one Outcome).
      if (index > 0 && metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
      if (await deliverAgain(record, request.context, options))
        batchItemFailures.push({ itemIdentifier: record.messageId });
    }
    await cleanupMiddlewares(request);
    return { batchItemFailures } satisfies SQSBatchResponse;
  };
  return { before: mirrorQueueBefore };
};
