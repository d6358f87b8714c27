/**
 * The types of the uploader's Middy chain, named once: an async-invoke event
 * of unknown shape, an upload result (or a rejection), the validated path in
 * the context.
 */
import type { MiddlewareObj } from '@middy/core';
import type { SQSBatchResponse } from 'aws-lambda';
import type { CachePathContext } from '../../commons/cache-path.js';
import type { Expectation } from '../../commons/rescue-request.js';
import type { SnapshotResult } from '../snapshot/take.js';
import type { UploadResult } from '../upload.js';

export interface RejectedEvent {
  readonly outcome: 'rejected';
  readonly reason: string;
}

/** What the uploader answers: an upload's or a snapshot's result, a rejection, or (to the mirror queue) the records to deliver again. */
export type UploaderResponse = UploadResult | SnapshotResult | RejectedEvent | SQSBatchResponse;

/** The context once the event is validated: its path, and what the request said the file is. */
export interface UploaderContext extends CachePathContext {
  expected?: Expectation;
  /** `expected` is what the current snapshot lists (a mirror-queue record), not a client's word. */
  listedBySnapshot?: boolean;
}

export type UploaderMiddleware = MiddlewareObj<unknown, UploaderResponse, Error, UploaderContext>;
export type UploaderBefore = NonNullable<UploaderMiddleware['before']>;
export type UploaderOnError = NonNullable<UploaderMiddleware['onError']>;
