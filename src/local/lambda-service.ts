/**
 * A local stand-in for the Lambda Invoke API, enough for the real
 * `@aws-sdk/client-lambda` `Invoke`: `POST /2015-03-31/functions/<name>/invocations`.
 * `Event` invocations are accepted with 202 and run in the background, with
 * Lambda's async retry policy (two retries); `RequestResponse` runs inline.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from 'aws-lambda';

export type LocalFunction = (event: unknown, context: Context) => Promise<unknown>;

export interface LocalLambdaServiceOptions {
  /** Functions by name; an ARN ending in `:function:<name>` also finds them. */
  readonly functions: Readonly<Record<string, LocalFunction>>;
  /** Delays before the retries of a failed async run (Lambda: about 1 and 2 minutes). */
  readonly retryDelaysMs?: readonly number[];
  /** Lambda's own timeout for a run, as `getRemainingTimeInMillis` sees it. */
  readonly timeoutMs?: number;
  /** Where run outcomes are reported (the stack logs them). */
  readonly onRunEnd?: (report: RunReport) => void;
}

export interface RunReport {
  readonly functionName: string;
  readonly requestId: string;
  readonly attempt: number;
  readonly outcome: 'succeeded' | 'failed-will-retry' | 'failed-gave-up' | 'dropped-on-shutdown';
  readonly error?: unknown;
}

/** Lambda's async payload limit. */
const MAX_EVENT_BYTES = 1024 * 1024;
const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/** The context Lambda passes a function: names, request id, and the time left before `timeoutMs`. */
export const lambdaContext = (functionName: string, requestId: string, timeoutMs: number): Context => {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/[$LATEST]${requestId}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
};

const sendError = (response: ServerResponse, status: number, type: string, message: string): void => {
  response
    .writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type })
    .end(JSON.stringify({ Type: 'User', message }));
};

export class LocalLambdaService {
  private readonly server: Server;
  private readonly running = new Set<Promise<void>>();
  /** Pending retries, and what to report if shutdown drops them. */
  private readonly retryTimers = new Map<NodeJS.Timeout, () => void>();
  private closing = false;

  constructor(private readonly options: LocalLambdaServiceOptions) {
    this.server = createServer((request, response) => {
      this.answer(request, response).catch((error: unknown) => {
        sendError(response, 500, 'ServiceException', error instanceof Error ? error.message : String(error));
      });
    });
  }

  async listen(host = '127.0.0.1', port = 0): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(port, host, resolve));
    const address = this.server.address() as AddressInfo;
    return `http://${host}:${address.port}`;
  }

  /** Async runs in progress (each attempt counts once). */
  get inFlight(): number {
    return this.running.size;
  }

  /** Waits until no async run is in progress and no retry is pending. */
  async drain(): Promise<void> {
    while (this.running.size > 0 || this.retryTimers.size > 0) {
      await Promise.race([...this.running, new Promise((resolve) => setTimeout(resolve, 50))]);
    }
  }

  /**
   * Stops taking invocations, drops pending retries (reported), and waits up
   * to `graceMs` for runs in progress. A run cut short commits nothing: the
   * uploader only writes an object once the whole file is in.
   */
  async close(graceMs = 10_000): Promise<void> {
    this.closing = true;
    for (const [timer, reportDropped] of this.retryTimers) {
      clearTimeout(timer);
      reportDropped();
    }
    this.retryTimers.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    const grace = new Promise((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([Promise.allSettled([...this.running]), grace]);
  }

  private resolve(nameOrArn: string): { name: string; run: LocalFunction } | undefined {
    const name = nameOrArn.includes(':function:') ? (nameOrArn.split(':function:')[1]?.split(':')[0] ?? '') : nameOrArn;
    const run = this.options.functions[name];
    return run === undefined ? undefined : { name, run };
  }

  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const match = INVOKE_PATH.exec(new URL(request.url ?? '/', 'http://lambda').pathname);
    if (request.method !== 'POST' || match === null) {
      sendError(response, 404, 'UnknownOperationException', 'only Invoke is served here');
      return;
    }
    const target = this.resolve(decodeURIComponent(match[1] ?? ''));
    if (target === undefined) {
      sendError(response, 404, 'ResourceNotFoundException', `Function not found: ${match[1]}`);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
      size += (chunk as Buffer).length;
      if (size > MAX_EVENT_BYTES) {
        sendError(response, 413, 'RequestTooLargeException', 'payload exceeds 1 MB');
        return;
      }
      chunks.push(chunk as Buffer);
    }
    let event: unknown;
    try {
      event = chunks.length === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      sendError(response, 400, 'InvalidRequestContentException', 'could not parse request body into json');
      return;
    }
    if (this.closing) {
      sendError(response, 503, 'ServiceException', 'the local stack is shutting down');
      return;
    }

    const invocationType = request.headers['x-amz-invocation-type'] ?? 'RequestResponse';
    if (invocationType === 'Event') {
      response.writeHead(202, { 'x-amzn-requestid': randomUUID() }).end();
      this.runAsync(target.name, target.run, event, randomUUID(), 0);
      return;
    }
    if (invocationType === 'DryRun') {
      response.writeHead(204).end();
      return;
    }
    try {
      const result = await target.run(event, lambdaContext(target.name, randomUUID(), this.timeoutMs));
      response.writeHead(200, { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST' });
      response.end(JSON.stringify(result ?? null));
    } catch (error) {
      response.writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' });
      response.end(
        JSON.stringify({
          errorType: error instanceof Error ? error.name : 'Error',
          errorMessage: error instanceof Error ? error.message : String(error),
        }),
      );
    }
  }

  private get timeoutMs(): number {
    return this.options.timeoutMs ?? 15 * 60_000;
  }

  private runAsync(name: string, run: LocalFunction, event: unknown, requestId: string, attempt: number): void {
    const retryDelays = this.options.retryDelaysMs ?? [1000, 2000];
    const report = (outcome: RunReport['outcome'], error?: unknown) =>
      this.options.onRunEnd?.({ functionName: name, requestId, attempt, outcome, error });
    const execution = (async () => {
      try {
        await run(event, lambdaContext(name, requestId, this.timeoutMs));
        report('succeeded');
      } catch (error) {
        const delay = retryDelays[attempt];
        if (delay === undefined) {
          report('failed-gave-up', error);
          return;
        }
        if (this.closing) {
          report('dropped-on-shutdown', error);
          return;
        }
        report('failed-will-retry', error);
        const timer = setTimeout(() => {
          this.retryTimers.delete(timer);
          this.runAsync(name, run, event, requestId, attempt + 1);
        }, delay);
        this.retryTimers.set(timer, () =>
          this.options.onRunEnd?.({
            functionName: name,
            requestId,
            attempt: attempt + 1,
            outcome: 'dropped-on-shutdown',
          }),
        );
      }
    })();
    this.running.add(execution);
    void execution.finally(() => this.running.delete(execution));
  }
}
