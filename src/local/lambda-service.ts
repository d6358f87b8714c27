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

/** How long `npm start` lets uploads in progress finish when it stops. */
export const LOCAL_STOP_GRACE_MS = 10_000;

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

  /** True when no async run is in progress and no retry is pending. */
  get idle(): boolean {
    return this.running.size === 0 && this.retryTimers.size === 0;
  }

  /** Waits until no async run is in progress and no retry is pending. */
  async drain(): Promise<void> {
    while (!this.idle) {
      await Promise.race([...this.running, new Promise((resolve) => setTimeout(resolve, 50))]);
    }
  }

  /**
   * Stops taking invocations, drops pending retries (reported), and waits up
   * to `graceMs` for runs in progress. A run cut short commits nothing: the
   * uploader only writes an object once the whole file is in. Resolves to
   * how many runs were still in progress when the grace ended.
   */
  async close(graceMs = LOCAL_STOP_GRACE_MS): Promise<number> {
    this.closing = true;
    for (const [timer, reportDropped] of this.retryTimers) {
      clearTimeout(timer);
      reportDropped();
    }
    this.retryTimers.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    const grace = new Promise((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([Promise.allSettled([...this.running]), grace]);
    return this.running.size;
  }

  private resolve(nameOrArn: string): { name: string; run: LocalFunction } | undefined {
    const name = nameOrArn.includes(':function:') ? (nameOrArn.split(':function:')[1]?.split(':')[0] ?? '') : nameOrArn;
    const run = this.options.functions[name];
    return run === undefined ? undefined : { name, run };
  }

  /** Reads an Invoke request: the function, the event and how to run it, or why it cannot be served. */
  private async readInvocation(request: IncomingMessage): Promise<Invocation | Refusal> {
    const match = INVOKE_PATH.exec(new URL(request.url ?? '/', 'http://lambda').pathname);
    if (request.method !== 'POST' || match === null) {
      return { refused: [404, 'UnknownOperationException', 'only Invoke is served here'] };
    }
    const target = this.resolve(decodeURIComponent(match[1] ?? ''));
    if (target === undefined) return { refused: [404, 'ResourceNotFoundException', `Function not found: ${match[1]}`] };
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
      size += (chunk as Buffer).length;
      if (size > MAX_EVENT_BYTES) return { refused: [413, 'RequestTooLargeException', 'payload exceeds 1 MB'] };
      chunks.push(chunk as Buffer);
    }
    let event: unknown;
    try {
      event = chunks.length === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return { refused: [400, 'InvalidRequestContentException', 'could not parse request body into json'] };
    }
    if (this.closing) return { refused: [503, 'ServiceException', 'the local stack is shutting down'] };
    const type = request.headers['x-amz-invocation-type'];
    return { target, event, type: type === 'Event' || type === 'DryRun' ? type : 'RequestResponse' };
  }

  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const invocation = await this.readInvocation(request);
    if ('refused' in invocation) {
      sendError(response, ...invocation.refused);
      return;
    }
    const { target, event, type } = invocation;
    switch (type) {
      case 'Event':
        response.writeHead(202, { 'x-amzn-requestid': randomUUID() }).end();
        this.runAsync({ name: target.name, run: target.run, event, requestId: randomUUID(), attempt: 0 });
        return;
      case 'DryRun':
        response.writeHead(204).end();
        return;
      case 'RequestResponse':
        await this.runSync(target, event, response);
        return;
    }
  }

  private async runSync(target: { name: string; run: LocalFunction }, event: unknown, response: ServerResponse) {
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

  private report(run: AsyncRun, outcome: RunReport['outcome'], error?: unknown): void {
    this.options.onRunEnd?.({ functionName: run.name, requestId: run.requestId, attempt: run.attempt, outcome, error });
  }

  /** Starts one attempt of an async run and keeps track of it until it ends. */
  private runAsync(run: AsyncRun): void {
    const execution = this.attempt(run);
    this.running.add(execution);
    void execution.finally(() => this.running.delete(execution));
  }

  /** One attempt; a failure is retried after Lambda's delays, dropped on shutdown, or given up. */
  private async attempt(run: AsyncRun): Promise<void> {
    try {
      await run.run(run.event, lambdaContext(run.name, run.requestId, this.timeoutMs));
      this.report(run, 'succeeded');
    } catch (error) {
      const delay = (this.options.retryDelaysMs ?? [1000, 2000])[run.attempt];
      if (delay === undefined) this.report(run, 'failed-gave-up', error);
      else if (this.closing) this.report(run, 'dropped-on-shutdown', error);
      else {
        this.report(run, 'failed-will-retry', error);
        this.scheduleRetry({ ...run, attempt: run.attempt + 1 }, delay);
      }
    }
  }

  private scheduleRetry(next: AsyncRun, delayMs: number): void {
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.runAsync(next);
    }, delayMs);
    this.retryTimers.set(timer, () => this.report(next, 'dropped-on-shutdown'));
  }
}

/** One async run of a function: what to run, with which event, and which attempt this is. */
interface AsyncRun {
  readonly name: string;
  readonly run: LocalFunction;
  readonly event: unknown;
  readonly requestId: string;
  readonly attempt: number;
}

interface Invocation {
  readonly target: { readonly name: string; readonly run: LocalFunction };
  readonly event: unknown;
  readonly type: 'Event' | 'DryRun' | 'RequestResponse';
}

/** Why an Invoke request cannot be served: the status, the error type and message Lambda would send. */
interface Refusal {
  readonly refused: [status: number, type: string, message: string];
}
