/**
 * A local stand-in for a Lambda event source mapping on an SQS queue, as the
 * deployed uploader consumes the mirror queue: batch size 1, at most
 * `maxConcurrency` invocations at once (MaximumConcurrency), and
 * reportBatchItemFailures. A failed record comes back once its visibility
 * timeout has passed, counted from when it was received, as in SQS; after
 * `maxReceiveCount` receives it goes to the dead-letter list instead (the
 * deployed queue's redrive policy).
 */
import { randomUUID } from 'node:crypto';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { type LocalFunction, lambdaContext } from './lambda-service.js';
import { LOCAL_ACCOUNT_ID, type LocalQueue, type QueuedMessage } from './sqs-queue.js';

export interface SqsDeliveryOptions {
  /** Functions by name, looked up at each delivery (the stack fills the table once the code is loaded). */
  readonly functions: Readonly<Record<string, LocalFunction>>;
  /** The function the mapping invokes. */
  readonly functionName: string;
  /** MaximumConcurrency: deliveries running at once, at most. */
  readonly maxConcurrency: number;
  /** How long a received message stays invisible; a failed one is delivered again once it has passed. */
  readonly visibilityTimeoutMs?: number;
  /** Receives before a failing message goes to the dead-letter list (the redrive policy's maxReceiveCount). */
  readonly maxReceiveCount?: number;
  /** The function's timeout, as `getRemainingTimeInMillis` sees it. */
  readonly timeoutMs?: number;
  /** Where delivery outcomes are reported (the stack logs them). */
  readonly onDeliveryEnd?: (report: DeliveryReport) => void;
}

export interface DeliveryReport {
  readonly functionName: string;
  readonly queueName: string;
  readonly messageId: string;
  /** ApproximateReceiveCount of the delivery that ended (for a message dropped while waiting, its receives so far). */
  readonly receiveCount: number;
  readonly outcome: 'succeeded' | 'failed-will-retry' | 'dead-lettered' | 'dropped-on-shutdown';
  readonly error?: unknown;
  /** For a message that is lost (dead-lettered, dropped): its body, so the report says what. */
  readonly body?: string;
}

/** A message moved to the dead-letter list: what the deployed DLQ would hold. */
export interface DeadLetter {
  readonly messageId: string;
  readonly body: string;
  readonly receiveCount: number;
  readonly sentTimestamp: number;
}

export interface DeliveryStats {
  /** Deliveries started, redeliveries included. */
  readonly received: number;
  /** Messages the function processed: delivered, answered without failure, deleted. */
  readonly delivered: number;
  readonly deadLettered: number;
  /** Messages lost to shutdown, waiting or in flight. */
  readonly dropped: number;
  readonly inFlight: number;
  readonly peakInFlight: number;
}

export const DEFAULT_VISIBILITY_TIMEOUT_MS = 2_000;
/** As the deployed queue's redrive policy. */
export const DEFAULT_MAX_RECEIVE_COUNT = 5;

/** The event Lambda passes for one message (batch size 1). */
export const sqsEventFor = (queue: LocalQueue, message: QueuedMessage): SQSEvent => {
  const record: SQSRecord = {
    messageId: message.messageId,
    receiptHandle: message.receiptHandle,
    body: message.body,
    attributes: {
      ApproximateReceiveCount: String(message.receiveCount),
      SentTimestamp: String(message.sentTimestamp),
      SenderId: LOCAL_ACCOUNT_ID,
      ApproximateFirstReceiveTimestamp: String(message.firstReceiveTimestamp ?? message.receivedAt),
    },
    // A copy: in Lambda the function gets its own, deserialized event.
    messageAttributes: structuredClone(message.messageAttributes),
    md5OfBody: message.md5OfBody,
    ...(message.md5OfMessageAttributes === undefined ? {} : { md5OfMessageAttributes: message.md5OfMessageAttributes }),
    eventSource: 'aws:sqs',
    eventSourceARN: queue.arn,
    awsRegion: queue.region,
  };
  return { Records: [record] };
};

/**
 * Whether a function's answer fails the record, by Lambda's rules for
 * reportBatchItemFailures: no answer, no list or an empty list is success;
 * a list naming the record fails it, and so does a malformed list or one
 * naming an id not in the batch (Lambda then fails the whole batch).
 */
export const batchItemFailure = (answer: unknown, messageId: string): Error | undefined => {
  if (typeof answer !== 'object' || answer === null || !('batchItemFailures' in answer)) return undefined;
  const failures: unknown = answer.batchItemFailures;
  if (failures === null || failures === undefined) return undefined;
  if (!Array.isArray(failures)) return new Error('batchItemFailures is not a list: Lambda fails the whole batch');
  if (failures.length === 0) return undefined;
  const ids = failures.map((failure: unknown) =>
    typeof failure === 'object' && failure !== null && 'itemIdentifier' in failure ? failure.itemIdentifier : undefined,
  );
  if (ids.every((id) => id === messageId)) return new Error('listed in batchItemFailures');
  return new Error(
    `batchItemFailures names ${JSON.stringify(ids)}, not this batch's ids: Lambda fails the whole batch`,
  );
};

type DeliveryResult = { readonly failed: false } | { readonly failed: true; readonly error: unknown };

export class SqsEventSourceMapping {
  private readonly running = new Set<Promise<void>>();
  private readonly deadLetterList: DeadLetter[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  private wakeTimer: NodeJS.Timeout | undefined;
  private pollScheduled = false;
  private closing = false;
  private counts = { received: 0, delivered: 0, deadLettered: 0, dropped: 0, peakInFlight: 0 };

  constructor(
    private readonly queue: LocalQueue,
    private readonly options: SqsDeliveryOptions,
  ) {
    if (!Number.isInteger(options.maxConcurrency) || options.maxConcurrency < 1) {
      throw new RangeError(`maxConcurrency must be a whole number of at least 1, not ${options.maxConcurrency}`);
    }
  }

  stats(): DeliveryStats {
    return { ...this.counts, inFlight: this.running.size };
  }

  /** What the dead-letter queue would hold, oldest first. */
  get deadLetters(): readonly DeadLetter[] {
    return [...this.deadLetterList];
  }

  /** True when no message waits in the queue and no delivery runs. */
  get idle(): boolean {
    return this.running.size === 0 && this.queue.empty;
  }

  /** Says a message was queued: deliveries start on the next turn, after the SendMessage answer goes out. */
  wake(): void {
    if (this.pollScheduled || this.closing) return;
    this.pollScheduled = true;
    setImmediate(() => {
      this.pollScheduled = false;
      this.poll();
    });
  }

  /** Waits until the queue is empty and no delivery runs (retries and delayed messages included), or until closed. */
  async drain(): Promise<void> {
    while (!this.idle && !this.closing) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops delivering, drops the messages still waiting (reported), and waits
   * up to `graceMs` for deliveries in progress; one that fails now is dropped
   * too, not retried.
   */
  async close(graceMs = 10_000): Promise<void> {
    this.closing = true;
    clearTimeout(this.wakeTimer);
    for (const message of this.queue.takeWaiting()) this.drop(message);
    const grace = new Promise((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([Promise.allSettled([...this.running]), grace]);
    this.wakeIdleWaiters();
  }

  /** Starts deliveries while there is room and a visible message; then sleeps until the next one is visible. */
  private poll(): void {
    if (this.closing) return;
    while (this.running.size < this.options.maxConcurrency) {
      const message = this.queue.receive();
      if (message === undefined) break;
      this.start(message);
    }
    this.sleepUntilNextVisible();
  }

  private sleepUntilNextVisible(): void {
    clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    const next = this.queue.nextVisibleAt();
    // At capacity, the end of a delivery polls again.
    if (next === undefined || this.running.size >= this.options.maxConcurrency) return;
    this.wakeTimer = setTimeout(() => this.poll(), Math.max(0, next - Date.now()));
  }

  private start(message: QueuedMessage): void {
    this.counts.received += 1;
    const delivery = this.deliver(message).finally(() => {
      this.running.delete(delivery);
      this.poll();
      if (this.idle) this.wakeIdleWaiters();
    });
    this.running.add(delivery);
    this.counts.peakInFlight = Math.max(this.counts.peakInFlight, this.running.size);
  }

  private async deliver(message: QueuedMessage): Promise<void> {
    const result = await this.invoke(message);
    if (!result.failed) {
      this.queue.remove(message);
      this.counts.delivered += 1;
      this.report(message, 'succeeded');
    } else if (this.closing) {
      this.queue.remove(message);
      this.drop(message, result.error);
    } else if (message.receiveCount >= (this.options.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT)) {
      this.queue.remove(message);
      this.deadLetter(message, result.error);
    } else {
      const visibilityTimeoutMs = this.options.visibilityTimeoutMs ?? DEFAULT_VISIBILITY_TIMEOUT_MS;
      this.queue.returnAt(message, Math.max(Date.now(), message.receivedAt + visibilityTimeoutMs));
      this.report(message, 'failed-will-retry', result.error);
    }
  }

  /** One invocation with the message's event; a throw or a batchItemFailures answer naming it fails it. */
  private async invoke(message: QueuedMessage): Promise<DeliveryResult> {
    const { functionName } = this.options;
    try {
      const run = this.options.functions[functionName];
      if (run === undefined) throw new Error(`Function not found: ${functionName}`);
      const context = lambdaContext(functionName, randomUUID(), this.options.timeoutMs ?? 15 * 60_000);
      const failure = batchItemFailure(await run(sqsEventFor(this.queue, message), context), message.messageId);
      return failure === undefined ? { failed: false } : { failed: true, error: failure };
    } catch (error) {
      return { failed: true, error };
    }
  }

  private deadLetter(message: QueuedMessage, error: unknown): void {
    const { messageId, body, receiveCount, sentTimestamp } = message;
    this.deadLetterList.push({ messageId, body, receiveCount, sentTimestamp });
    this.counts.deadLettered += 1;
    this.report(message, 'dead-lettered', error);
  }

  private drop(message: QueuedMessage, error?: unknown): void {
    this.counts.dropped += 1;
    this.report(message, 'dropped-on-shutdown', error);
  }

  private report(message: QueuedMessage, outcome: DeliveryReport['outcome'], error?: unknown): void {
    const lost = outcome === 'dead-lettered' || outcome === 'dropped-on-shutdown';
    this.options.onDeliveryEnd?.({
      functionName: this.options.functionName,
      queueName: this.queue.name,
      messageId: message.messageId,
      receiveCount: message.receiveCount,
      outcome,
      ...(error === undefined ? {} : { error }),
      ...(lost ? { body: message.body } : {}),
    });
  }

  private wakeIdleWaiters(): void {
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
