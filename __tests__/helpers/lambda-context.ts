import type { Context } from 'aws-lambda';
import { lambdaContext as localLambdaContext } from '../../src/local/lambda-service.js';

/** The request id every test invocation carries. */
export const TEST_REQUEST_ID = 'c6af9ac6-7b61-11e6-9a41-93e812345678';

/** A Lambda context as the runtime gives it, with 30 s left: the local stack's own. */
export const lambdaContext = (functionName = 'rpm-cache-test'): Context =>
  localLambdaContext(functionName, TEST_REQUEST_ID, 30_000);
