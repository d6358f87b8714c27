/**
 * How the uploader queues a mirrored snapshot's uploads: SendMessageBatch
 * through a real SQS client (endpoint from the SDK's own
 * AWS_ENDPOINT_URL_SQS in the local stack).
 *
 * The only module that loads @aws-sdk/client-sqs at run time; the Lambda
 * build makes it a bundle of its own (dist/uploader-sqs.mjs), loaded only
 * at the first mirrored snapshot. In the uploader's own graph the SQS
 * client's protocol code lands in chunks loaded at init (the @smithy/core
 * barrel S3 imports re-exports it), lazy import or not: ~25 KiB on every
 * cold start, mirroring or not.
 */
import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  type SendMessageBatchCommandOutput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type CaptureClient, type ClientSettings, requestHandler } from '../../commons/clients.js';

/** One SendMessageBatch call. */
export type SendMessageBatch = (
  input: SendMessageBatchCommandInput,
) => Promise<Pick<SendMessageBatchCommandOutput, 'Failed'>>;

/** SendMessageBatch through `client`. */
export const sqsSender =
  (client: SQSClient): SendMessageBatch =>
  (input) =>
    client.send(new SendMessageBatchCommand(input));

/** SendMessageBatch through a new client with the uploader's settings. */
export const createSqsSender = (
  settings: ClientSettings,
  capture: CaptureClient = (client) => client,
): SendMessageBatch => sqsSender(capture(new SQSClient({ requestHandler: requestHandler(settings) })));
