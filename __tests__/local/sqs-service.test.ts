import { createHash } from 'node:crypto';
import {
  BatchEntryIdsNotDistinct,
  BatchRequestTooLong,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  InvalidMessageContents,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  TooManyEntriesInBatchRequest,
  UnsupportedOperation,
} from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import type { LocalFunction } from '../../src/local/lambda-service.js';
import { batchItemFailure, type DeliveryReport } from '../../src/local/sqs-delivery.js';
import { LocalSqsService, type LocalSqsServiceOptions } from '../../src/local/sqs-service.js';

const FUNCTION = 'rpm-cache-uploader';

/** A promise with its resolve, for a test to open a gate or wait for an event. */
const deferred = <T = void>() => {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
};

const recordOf = (event: unknown): SQSRecord => {
  const record = (event as SQSEvent).Records[0];
  if (record === undefined || (event as SQSEvent).Records.length !== 1) throw new Error('expected one record');
  return record;
};

describe('LocalSqsService, through the real SDK client', () => {
  let service: LocalSqsService | undefined;
  let sqs: SQSClient;
  let queueUrl: string;
  const reports: DeliveryReport[] = [];

  /** The service with `run` as the uploader, and an SDK client pointed at it. */
  const start = async (run: LocalFunction, options: Partial<LocalSqsServiceOptions> = {}) => {
    reports.length = 0;
    service = new LocalSqsService({
      functions: { [FUNCTION]: run },
      functionName: FUNCTION,
      maxConcurrency: 4,
      visibilityTimeoutMs: 20,
      region: 'us-east-1',
      onDeliveryEnd: (report) => reports.push(report),
      ...options,
    });
    const endpoint = await service.listen();
    sqs = new SQSClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
    });
    queueUrl = service.queueUrl;
    return service;
  };

  afterEach(async () => {
    sqs?.destroy();
    await service?.close(1000);
    service = undefined;
  });

  const entries = (bodies: readonly string[]) => bodies.map((body, index) => ({ Id: `m${index}`, MessageBody: body }));

  it('delivers a sent message once, as a one-record SQS event with a Lambda context', async () => {
    const deliveries: { event: unknown; context: Context }[] = [];
    const local = await start(async (event, context) => {
      deliveries.push({ event, context });
    });

    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"path":"a.rpm"}' }));
    await local.drain();

    expect(deliveries).toHaveLength(1);
    const record = recordOf(deliveries[0]?.event);
    expect(record).toEqual({
      messageId: sent.MessageId,
      receiptHandle: expect.any(String),
      body: '{"path":"a.rpm"}',
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: expect.stringMatching(/^\d{13}$/),
        SenderId: '000000000000',
        ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d{13}$/),
      },
      messageAttributes: {},
      md5OfBody: sent.MD5OfMessageBody,
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:rpm-cache-mirror',
      awsRegion: 'us-east-1',
    });
    expect(sent.MD5OfMessageBody).toBe(createHash('md5').update('{"path":"a.rpm"}').digest('hex'));
    expect(deliveries[0]?.context.functionName).toBe(FUNCTION);
    expect(deliveries[0]?.context.getRemainingTimeInMillis()).toBeGreaterThan(60_000);
    expect(local.stats()).toMatchObject({ sent: 1, received: 1, delivered: 1, deadLettered: 0, inFlight: 0 });
    expect(reports.map((report) => report.outcome)).toEqual(['succeeded']);
  });

  it('delivers 25 messages sent in batches of 10 each exactly once, with its body', async () => {
    const bodies = Array.from({ length: 25 }, (_, index) => `pub/Packages/p/p${index}-1.0-1.noarch.rpm`);
    const delivered: string[] = [];
    const local = await start(async (event) => {
      delivered.push(recordOf(event).body);
    });

    const answers = [];
    for (let first = 0; first < bodies.length; first += 10) {
      answers.push(
        await sqs.send(
          new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries(bodies.slice(first, first + 10)) }),
        ),
      );
    }
    await local.drain();

    expect(answers.map((answer) => [answer.Successful?.length, answer.Failed?.length ?? 0])).toEqual([
      [10, 0],
      [10, 0],
      [5, 0],
    ]);
    expect([...delivered].sort()).toEqual([...bodies].sort());
    expect(local.stats()).toMatchObject({ sent: 25, received: 25, delivered: 25, inFlight: 0 });
  });

  it('runs at most maxConcurrency deliveries at once, and reaches that bound', async () => {
    const bound = 3;
    const gate = deferred();
    const full = deferred();
    let running = 0;
    let mostRunning = 0;
    const local = await start(
      async () => {
        running += 1;
        mostRunning = Math.max(mostRunning, running);
        if (running === bound) full.resolve();
        await gate.promise;
        running -= 1;
      },
      { maxConcurrency: bound },
    );

    await sqs.send(
      new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries(['a', 'b', 'c', 'd', 'e', 'f', 'g']) }),
    );
    await full.promise;
    // Several turns of the event loop: a fourth delivery would have started by now.
    for (let turn = 0; turn < 5; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    const whileFull = local.stats();
    gate.resolve();
    await local.drain();

    expect(whileFull).toMatchObject({ inFlight: bound, received: bound });
    expect(mostRunning).toBe(bound);
    expect(local.stats()).toMatchObject({ peakInFlight: bound, delivered: 7, inFlight: 0 });
  });

  it('delivers again, with ApproximateReceiveCount 2, a record named in batchItemFailures', async () => {
    const seen: SQSRecord[] = [];
    const local = await start(async (event) => {
      const record = recordOf(event);
      seen.push(record);
      return { batchItemFailures: seen.length === 1 ? [{ itemIdentifier: record.messageId }] : [] };
    });

    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'retry me' }));
    await local.drain();

    expect(seen.map((record) => [record.messageId, record.body, record.attributes.ApproximateReceiveCount])).toEqual([
      [seen[0]?.messageId, 'retry me', '1'],
      [seen[0]?.messageId, 'retry me', '2'],
    ]);
    expect(seen[1]?.receiptHandle).not.toBe(seen[0]?.receiptHandle);
    expect(seen[1]?.attributes.ApproximateFirstReceiveTimestamp).toBe(
      seen[0]?.attributes.ApproximateFirstReceiveTimestamp,
    );
    expect(reports.map((report) => report.outcome)).toEqual(['failed-will-retry', 'succeeded']);
    expect(local.stats()).toMatchObject({ received: 2, delivered: 1 });
  });

  it('delivers again, with ApproximateReceiveCount 2, a record whose function threw', async () => {
    const counts: string[] = [];
    const local = await start(async (event) => {
      counts.push(recordOf(event).attributes.ApproximateReceiveCount);
      if (counts.length === 1) throw new Error('origin reset the connection');
      return { outcome: 'stored' };
    });

    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'retry me' }));
    await local.drain();

    expect(counts).toEqual(['1', '2']);
    expect(reports[0]).toMatchObject({ outcome: 'failed-will-retry', receiveCount: 1 });
    expect(String(reports[0]?.error)).toContain('origin reset the connection');
    expect(reports[1]).toMatchObject({ outcome: 'succeeded', receiveCount: 2 });
  });

  it('does not deliver a failed record again before its visibility timeout has passed', async () => {
    const received: number[] = [];
    const local = await start(
      async () => {
        received.push(Date.now());
        if (received.length === 1) throw new Error('fails once');
      },
      { visibilityTimeoutMs: 300 },
    );

    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'later' }));
    await local.drain();

    expect(received).toHaveLength(2);
    expect((received[1] ?? 0) - (received[0] ?? 0)).toBeGreaterThanOrEqual(295);
  });

  it('moves a message to the dead-letter list after maxReceiveCount receives, and delivers it no more', async () => {
    const counts: string[] = [];
    const deadLettered = deferred<DeliveryReport>();
    const local = await start(
      async (event) => {
        counts.push(recordOf(event).attributes.ApproximateReceiveCount);
        throw new Error('always fails');
      },
      {
        maxReceiveCount: 3,
        onDeliveryEnd: (report) => {
          reports.push(report);
          if (report.outcome === 'dead-lettered') deadLettered.resolve(report);
        },
      },
    );

    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'lost.rpm' }));
    const report = await deadLettered.promise;
    await local.drain();

    expect(counts).toEqual(['1', '2', '3']);
    expect(report).toMatchObject({
      messageId: sent.MessageId,
      receiveCount: 3,
      body: 'lost.rpm',
      queueName: 'rpm-cache-mirror',
    });
    expect(local.deadLetters).toEqual([
      { messageId: sent.MessageId, body: 'lost.rpm', receiveCount: 3, sentTimestamp: expect.any(Number) },
    ]);
    expect(local.stats()).toMatchObject({ received: 3, delivered: 0, deadLettered: 1 });
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    expect(attributes.Attributes).toEqual({ ApproximateNumberOfMessages: '0' });
  });

  it('counts visible, in-flight and delayed messages in GetQueueAttributes', async () => {
    const gate = deferred();
    const started = deferred();
    const local = await start(
      async () => {
        started.resolve();
        await gate.promise;
      },
      { maxConcurrency: 1 },
    );

    await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries(['a', 'b', 'c']) }));
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'd', DelaySeconds: 1 }));
    await started.promise;
    const during = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }));
    gate.resolve();
    await local.drain();
    const after = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );

    expect(during.Attributes).toEqual({
      ApproximateNumberOfMessages: '2',
      ApproximateNumberOfMessagesNotVisible: '1',
      ApproximateNumberOfMessagesDelayed: '1',
      MaximumMessageSize: '262144',
      QueueArn: 'arn:aws:sqs:us-east-1:000000000000:rpm-cache-mirror',
    });
    expect(after.Attributes).toEqual({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
    expect(local.stats()).toMatchObject({ sent: 4, delivered: 4 });
  });

  it('answers each batch entry on its own: a refused body fails, the others are sent', async () => {
    const delivered: string[] = [];
    const local = await start(async (event) => {
      delivered.push(recordOf(event).body);
    });

    const answer = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: 'good', MessageBody: 'kept' },
          { Id: 'nul', MessageBody: 'bad\u0000body' },
          { Id: 'late', MessageBody: 'later', DelaySeconds: 901 },
        ],
      }),
    );
    await local.drain();

    expect(answer.Successful?.map((entry) => entry.Id)).toEqual(['good']);
    expect(answer.Failed).toEqual([
      { Id: 'nul', SenderFault: true, Code: 'InvalidMessageContents', Message: expect.stringContaining("'#x0'") },
      {
        Id: 'late',
        SenderFault: true,
        Code: 'InvalidParameterValue',
        Message: expect.stringContaining('DelaySeconds'),
      },
    ]);
    expect(delivered).toEqual(['kept']);
  });

  it('refuses a batch of more than 10 entries, repeated ids or more than 256 KiB with the SDK errors', async () => {
    const local = await start(async () => undefined);

    await expect(
      sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries(Array(11).fill('x')) })),
    ).rejects.toThrow(TooManyEntriesInBatchRequest);
    await expect(
      sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: [
            { Id: 'same', MessageBody: 'a' },
            { Id: 'same', MessageBody: 'b' },
          ],
        }),
      ),
    ).rejects.toThrow(BatchEntryIdsNotDistinct);
    const half = 'x'.repeat(128 * 1024);
    await expect(
      sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries([half, half, 'one more byte']) })),
    ).rejects.toThrow(BatchRequestTooLong);
    expect(local.stats().sent).toBe(0);
  });

  it('refuses a message over 256 KiB and a refused character in SendMessage', async () => {
    await start(async () => undefined);

    await expect(
      sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x'.repeat(256 * 1024 + 1) })),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue', message: expect.stringContaining('262144 bytes') });
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '\u0001' }))).rejects.toThrow(
      InvalidMessageContents,
    );
  });

  it('passes message attributes on to the event, with the MD5 SQS computes', async () => {
    const records: SQSRecord[] = [];
    const local = await start(async (event) => {
      records.push(recordOf(event));
    });

    const one = await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: 'a',
        MessageAttributes: {
          ordinal: { DataType: 'Number', StringValue: '1' },
          category: { DataType: 'String', StringValue: 'test' },
        },
      }),
    );
    const other = await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: 'b',
        MessageAttributes: { SellerName: { DataType: 'String', StringValue: 'Example Store' } },
      }),
    );
    await local.drain();

    // Digests other SQS implementations check against AWS.
    expect(one.MD5OfMessageAttributes).toBe('d21ae90c49061e927f57df5f5d72be1f');
    expect(other.MD5OfMessageAttributes).toBe('cd28f3b68aeee4b2eac9c66f2f694b58');
    const first = records.find((record) => record.body === 'a');
    expect(first?.messageAttributes).toEqual({
      ordinal: { dataType: 'Number', stringValue: '1', stringListValues: [], binaryListValues: [] },
      category: { dataType: 'String', stringValue: 'test', stringListValues: [], binaryListValues: [] },
    });
    expect(first?.md5OfMessageAttributes).toBe(one.MD5OfMessageAttributes);
  });

  it('answers GetQueueUrl for its queue, and QueueDoesNotExist for another', async () => {
    await start(async () => undefined, { queueName: 'mirror-test' });

    const found = await sqs.send(new GetQueueUrlCommand({ QueueName: 'mirror-test' }));

    expect(found.QueueUrl).toBe(queueUrl);
    expect(queueUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/000000000000\/mirror-test$/);
    await expect(sqs.send(new GetQueueUrlCommand({ QueueName: 'nope' }))).rejects.toThrow(QueueDoesNotExist);
    await expect(
      sqs.send(new SendMessageCommand({ QueueUrl: queueUrl.replace('mirror-test', 'nope'), MessageBody: 'x' })),
    ).rejects.toThrow(QueueDoesNotExist);
  });

  it('makes the SDK throw UnsupportedOperation for an operation it does not serve', async () => {
    await start(async () => undefined);

    await expect(sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }))).rejects.toThrow(UnsupportedOperation);
  });

  it('is found through AWS_ENDPOINT_URL_SQS, as the Lambdas find it', async () => {
    const local = await start(async () => undefined);
    process.env.AWS_ENDPOINT_URL_SQS = local.queueUrl.replace(/\/000000000000\/.*$/, '');
    try {
      const client = new SQSClient({ region: 'us-east-1' });
      const sent = await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'via env' }));
      client.destroy();
      await local.drain();

      expect(sent.MessageId).toBeDefined();
      expect(local.stats().delivered).toBe(1);
    } finally {
      delete process.env.AWS_ENDPOINT_URL_SQS;
    }
  });

  it('drops the messages still waiting on close and says so; drain() then returns', async () => {
    const gate = deferred();
    const started = deferred();
    const local = await start(
      async () => {
        started.resolve();
        await gate.promise;
      },
      { maxConcurrency: 1 },
    );
    await sqs.send(
      new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries(['running', 'waiting', 'too']) }),
    );
    await started.promise;

    const closing = local.close(1000);
    gate.resolve();
    await closing;
    await local.drain();

    expect(reports.map((report) => [report.outcome, report.body])).toEqual([
      ['dropped-on-shutdown', 'waiting'],
      ['dropped-on-shutdown', 'too'],
      ['succeeded', undefined],
    ]);
    expect(local.stats()).toMatchObject({ delivered: 1, dropped: 2, inFlight: 0 });
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x' }))).rejects.toThrow();
  });
});

describe('batchItemFailure: Lambda’s reportBatchItemFailures rules for one record', () => {
  const id = 'a1b2';

  it.each([
    ['no answer', undefined],
    ['null', null],
    ['an answer without the list', { outcome: 'stored' }],
    ['a null list', { batchItemFailures: null }],
    ['an empty list', { batchItemFailures: [] }],
  ])('counts %s as success', (_, answer) => {
    expect(batchItemFailure(answer, id)).toBeUndefined();
  });

  it.each([
    ['the record named', { batchItemFailures: [{ itemIdentifier: id }] }],
    ['an id not in the batch', { batchItemFailures: [{ itemIdentifier: 'other' }] }],
    ['an empty id', { batchItemFailures: [{ itemIdentifier: '' }] }],
    ['a null id', { batchItemFailures: [{ itemIdentifier: null }] }],
    ['a wrong key', { batchItemFailures: [{ itemId: id }] }],
    ['a list that is not one', { batchItemFailures: id }],
  ])('fails the record for %s', (_, answer) => {
    expect(batchItemFailure(answer, id)).toBeInstanceOf(Error);
  });
});
