/**
 * The Lambda client the handler invokes the uploader with.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { type CaptureClient, type ClientSettings, requestHandler } from '../commons/clients.js';

export const createLambdaClient = (
  settings: ClientSettings,
  capture: CaptureClient = (client) => client,
): LambdaClient =>
  capture(
    new LambdaClient({
      requestHandler: requestHandler(settings),
      ...(settings.lambdaMaxAttempts === undefined ? {} : { maxAttempts: settings.lambdaMaxAttempts }),
    }),
  );
