/**
 * Starts the uploader Lambda for one path, asynchronously.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { Expectation } from '../commons/rescue-request.js';

/**
 * The uploader's event: the same decoded path the handler saw, and the
 * handler's request id, so one request can be followed across both functions.
 */
export interface UploaderEvent {
  readonly path: string;
  readonly triggeredBy?: string;
  /** What the client said the file is, for a rescue from an archive. */
  readonly expect?: Expectation;
}

/** What to upload, and who asked. */
export interface UploadAsk {
  readonly path: string;
  /** The handler's request id. */
  readonly requestId?: string | undefined;
  readonly expected?: Expectation | undefined;
}

export class UploaderInvokeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UploaderInvokeError';
  }
}

/**
 * Queues an uploader run and waits for Lambda to accept it (202): the handler's
 * environment freezes once it returns, so an unawaited invoke may never leave.
 */
export const triggerUpload = async (
  lambda: LambdaClient,
  functionName: string,
  { path, requestId, expected }: UploadAsk,
  abortSignal?: AbortSignal,
): Promise<void> => {
  const event: UploaderEvent = {
    path,
    ...(requestId === undefined ? {} : { triggeredBy: requestId }),
    ...(expected === undefined ? {} : { expect: expected }),
  };
  const response = await lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: 'Event',
      Payload: new TextEncoder().encode(JSON.stringify(event)),
    }),
    abortSignal === undefined ? {} : { abortSignal },
  );
  if (response.StatusCode !== 202) {
    throw new UploaderInvokeError(`uploader invoke answered ${response.StatusCode ?? 'no status'}, expected 202`);
  }
};
