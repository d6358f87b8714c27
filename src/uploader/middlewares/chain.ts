/**
 * The types of the uploader's Middy chain, named once: an async-invoke event
 * of unknown shape, an upload result (or a rejection), the validated path in
 * the context.
 */
import type { MiddlewareObj } from '@middy/core';
import type { CachePathContext } from '../../commons/cache-path.js';
import type { SnapshotResult } from '../snapshot/take.js';
import type { UploadResult } from '../upload.js';

export interface RejectedEvent {
  readonly outcome: 'rejected';
  readonly reason: string;
}

export type UploaderResponse = UploadResult | SnapshotResult | RejectedEvent;

export type UploaderMiddleware = MiddlewareObj<unknown, UploaderResponse, Error, CachePathContext>;
export type UploaderBefore = NonNullable<UploaderMiddleware['before']>;
export type UploaderOnError = NonNullable<UploaderMiddleware['onError']>;
