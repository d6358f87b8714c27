/**
 * The local stack's mirror queue: the Lambdas find it as the deployed ones
 * do (AWS_ENDPOINT_URL_SQS, MIRROR_QUEUE_URL), its messages go to the
 * uploader, at most MIRROR_CONCURRENCY at once. A file of its own: one
 * process (one test file) runs one stack.
 */
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ConfigError } from '../../src/commons/config.js';
import { LOCAL_DEFAULTS, reportDeliveryEnd, startLocalStack } from '../../src/local/stack.js';
import { startTestStack, type TestStack } from '../helpers/test-stack.js';

describe('local stack, mirror queue', () => {
  let test: TestStack;

  beforeAll(async () => {
    test = await startTestStack({ MIRROR_CONCURRENCY: '3' });
  });

  afterAll(() => test.close());

  it('gives the Lambdas the queue through AWS_ENDPOINT_URL_SQS and MIRROR_QUEUE_URL', async () => {
    const { mirrorQueue } = test.stack;

    expect(process.env.MIRROR_QUEUE_URL).toBe(mirrorQueue.queueUrl);
    expect(mirrorQueue.queueUrl).toBe(`${process.env.AWS_ENDPOINT_URL_SQS}/000000000000/rpm-cache-mirror`);
    expect(mirrorQueue.maxConcurrency).toBe(3);
    // A client configured as the uploader's is: the SDK's own variable, the stack's credentials and region.
    const sqs = new SQSClient({});
    const answer = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: process.env.MIRROR_QUEUE_URL, AttributeNames: ['QueueArn'] }),
    );
    sqs.destroy();
    expect(answer.Attributes?.QueueArn).toBe(`arn:aws:sqs:${process.env.AWS_REGION}:000000000000:rpm-cache-mirror`);
  });

  it('delivers a message to the uploader, and drain() waits until the queue is empty', async () => {
    test.logs.clear();
    const sqs = new SQSClient({});
    await sqs.send(new SendMessageCommand({ QueueUrl: process.env.MIRROR_QUEUE_URL, MessageBody: '{"probe":1}' }));
    sqs.destroy();
    await test.stack.drain();

    expect(test.stack.mirrorQueue.stats()).toMatchObject({ sent: 1, inFlight: 0 });
    expect(test.stack.mirrorQueue.stats().received).toBeGreaterThanOrEqual(1);
    expect(test.stack.mirrorQueue.idle).toBe(true);
    // Whatever it made of the event, the uploader ran: its lines carry its name.
    expect(test.logs.lines().some((line) => line.function_name === 'rpm-cache-uploader')).toBe(true);
  });

  it('logs a dead-lettered message as an error line naming it, and a retry as a warning', () => {
    test.logs.clear();
    const report = {
      functionName: 'rpm-cache-uploader',
      queueName: 'rpm-cache-mirror',
      messageId: 'm-1',
      receiveCount: 5,
    };
    reportDeliveryEnd({
      ...report,
      outcome: 'dead-lettered',
      error: new Error('origin gone'),
      body: '{"path":"a.rpm"}',
    });
    reportDeliveryEnd({ ...report, receiveCount: 1, outcome: 'failed-will-retry', error: new Error('reset') });
    reportDeliveryEnd({ ...report, outcome: 'succeeded' });

    expect(test.logs.lines()).toEqual([
      {
        ...report,
        level: 'ERROR',
        message: 'mirror queue dead-lettered',
        outcome: 'dead-lettered',
        error: 'Error: origin gone',
        body: '{"path":"a.rpm"}',
      },
      {
        ...report,
        receiveCount: 1,
        level: 'WARN',
        message: 'mirror queue failed-will-retry',
        outcome: 'failed-will-retry',
        error: 'Error: reset',
      },
    ]);
  });

  it('runs 5 deliveries at once by default, as the deployed mapping does', () => {
    expect(LOCAL_DEFAULTS.MIRROR_CONCURRENCY).toBe('5');
  });

  it.each(['0', '1001', '2.5', 'ten', '-1'])('refuses MIRROR_CONCURRENCY=%s, naming the variable', async (given) => {
    await expect(startLocalStack({ env: { PORT: '0', MIRROR_CONCURRENCY: given } })).rejects.toThrow(
      new ConfigError(`MIRROR_CONCURRENCY=${JSON.stringify(given)} is invalid: expected a whole number from 1 to 1000`),
    );
  });
});
