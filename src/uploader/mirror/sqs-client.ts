/**
 * The SQS client the uploader queues a mirrored snapshot's uploads with
 * (endpoint from the SDK's own AWS_ENDPOINT_URL_SQS in the local stack).
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { type CaptureClient, type ClientSettings, requestHandler } from '../../commons/clients.js';

export const createSqsClient = (settings: ClientSettings, capture: CaptureClient = (client) => client): SQSClient =>
  capture(new SQSClient({ requestHandler: requestHandler(settings) }));
