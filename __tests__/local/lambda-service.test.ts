import { InvokeCommand, LambdaClient, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import type { Context } from 'aws-lambda';
import { LocalLambdaService, type RunReport } from '../../src/local/lambda-service.js';

describe('LocalLambdaService, through the real SDK client', () => {
  const runs: { event: unknown; context: Context }[] = [];
  const reports: RunReport[] = [];
  let failuresLeft = 0;
  let service: LocalLambdaService;
  let lambda: LambdaClient;

  const payload = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

  beforeEach(async () => {
    runs.length = 0;
    reports.length = 0;
    failuresLeft = 0;
    service = new LocalLambdaService({
      functions: {
        'rpm-cache-uploader': async (event, context) => {
          runs.push({ event, context });
          if (failuresLeft > 0) {
            failuresLeft -= 1;
            throw new Error('origin reset the connection');
          }
          return { outcome: 'stored' };
        },
      },
      retryDelaysMs: [20, 40],
      onRunEnd: (report) => reports.push(report),
    });
    // The SDK's own variable, as the Lambdas get it.
    process.env.AWS_ENDPOINT_URL_LAMBDA = await service.listen();
    lambda = new LambdaClient({});
  });

  afterEach(async () => {
    await service.close(1000);
    delete process.env.AWS_ENDPOINT_URL_LAMBDA;
  });

  it('accepts an Event invoke with 202 and runs the function with the event and a Lambda-like context', async () => {
    const response = await lambda.send(
      new InvokeCommand({
        FunctionName: 'rpm-cache-uploader',
        InvocationType: 'Event',
        Payload: payload({ path: 'a.rpm' }),
      }),
    );
    await service.drain();

    expect(response.StatusCode).toBe(202);
    expect(runs).toHaveLength(1);
    expect(runs[0]?.event).toEqual({ path: 'a.rpm' });
    expect(runs[0]?.context.functionName).toBe('rpm-cache-uploader');
    expect(runs[0]?.context.getRemainingTimeInMillis()).toBeGreaterThan(60_000);
    expect(reports.map((report) => report.outcome)).toEqual(['succeeded']);
  });

  it('finds the function by ARN too', async () => {
    const response = await lambda.send(
      new InvokeCommand({
        FunctionName: 'arn:aws:lambda:eu-west-1:123456789012:function:rpm-cache-uploader',
        InvocationType: 'Event',
        Payload: payload({ path: 'a.rpm' }),
      }),
    );
    await service.drain();

    expect(response.StatusCode).toBe(202);
    expect(runs).toHaveLength(1);
  });

  it('retries a failed async run twice, as Lambda does, then reports that it gave up', async () => {
    failuresLeft = 10;

    await lambda.send(
      new InvokeCommand({ FunctionName: 'rpm-cache-uploader', InvocationType: 'Event', Payload: payload({}) }),
    );
    await service.drain();

    expect(runs).toHaveLength(3);
    expect(reports.map((report) => [report.attempt, report.outcome])).toEqual([
      [0, 'failed-will-retry'],
      [1, 'failed-will-retry'],
      [2, 'failed-gave-up'],
    ]);
    expect(new Set(reports.map((report) => report.requestId)).size).toBe(1);
  });

  it('succeeds on a retry after a transient failure', async () => {
    failuresLeft = 1;

    await lambda.send(
      new InvokeCommand({ FunctionName: 'rpm-cache-uploader', InvocationType: 'Event', Payload: payload({}) }),
    );
    await service.drain();

    expect(reports.map((report) => report.outcome)).toEqual(['failed-will-retry', 'succeeded']);
  });

  it('makes the SDK throw ResourceNotFoundException for an unknown function', async () => {
    await expect(
      lambda.send(new InvokeCommand({ FunctionName: 'nope', InvocationType: 'Event', Payload: payload({}) })),
    ).rejects.toThrow(ResourceNotFoundException);
  });

  it('answers a RequestResponse invoke with the result', async () => {
    const response = await lambda.send(new InvokeCommand({ FunctionName: 'rpm-cache-uploader', Payload: payload({}) }));

    expect(response.StatusCode).toBe(200);
    expect(JSON.parse(new TextDecoder().decode(response.Payload))).toEqual({ outcome: 'stored' });
  });

  it('drops pending retries on shutdown and says so', async () => {
    failuresLeft = 10;
    const slow = new LocalLambdaService({
      functions: {
        f: async () => {
          throw new Error('fails');
        },
      },
      retryDelaysMs: [60_000],
      onRunEnd: (report) => reports.push(report),
    });
    const client = new LambdaClient({ endpoint: await slow.listen() });

    await client.send(new InvokeCommand({ FunctionName: 'f', InvocationType: 'Event', Payload: payload({}) }));
    while (reports.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await slow.close(1000);

    expect(reports.map((report) => [report.attempt, report.outcome])).toEqual([
      [0, 'failed-will-retry'],
      [1, 'dropped-on-shutdown'],
    ]);
    expect(slow.inFlight).toBe(0);
  });

  it('says how many runs were still in progress when the stop grace ended, and how many finished in it', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const stopping = new LocalLambdaService({
      functions: {
        quick: async () => ({ outcome: 'stored' }),
        stuck: async () => {
          await held;
          return { outcome: 'stored' };
        },
      },
    });
    const client = new LambdaClient({ endpoint: await stopping.listen() });
    for (const name of ['quick', 'stuck']) {
      await client.send(new InvokeCommand({ FunctionName: name, InvocationType: 'Event', Payload: payload({}) }));
    }
    while (stopping.inFlight > 1) await new Promise((resolve) => setTimeout(resolve, 10));

    expect(await stopping.close(50)).toBe(1);
    release();
  });
});
