/**
 * The state of one local standard queue: messages waiting, delayed or
 * between a failed delivery and their visibility timeout, and in flight.
 * Receiving takes the oldest visible message (SQS is only best-effort FIFO),
 * in constant time: a mirror run may queue tens of thousands.
 */
import { randomUUID } from 'node:crypto';
import type { SQSMessageAttributes } from 'aws-lambda';

/** The account id local URLs and ARNs carry, as other AWS emulators use. */
export const LOCAL_ACCOUNT_ID = '000000000000';

export interface QueuedMessage {
  readonly messageId: string;
  readonly body: string;
  readonly md5OfBody: string;
  /** In the shape Lambda passes them on, with their MD5; empty when none were sent. */
  readonly messageAttributes: SQSMessageAttributes;
  readonly md5OfMessageAttributes: string | undefined;
  readonly sentTimestamp: number;
  receiveCount: number;
  firstReceiveTimestamp: number | undefined;
  /** When the current receive started, while in flight. */
  receivedAt: number;
  /** A new one each receive, as SQS gives. */
  receiptHandle: string;
}

export type NewMessage = Pick<QueuedMessage, 'body' | 'md5OfBody' | 'messageAttributes' | 'md5OfMessageAttributes'>;

export interface QueueCounts {
  /** ApproximateNumberOfMessages: visible, waiting for a receive. */
  readonly visible: number;
  /** ApproximateNumberOfMessagesNotVisible: in flight, or back after a failure but not visible yet. */
  readonly notVisible: number;
  /** ApproximateNumberOfMessagesDelayed: sent with a delay that has not passed. */
  readonly delayed: number;
}

/** A message that is not visible yet: delayed on send (never received) or back after a failed receive. */
interface Hidden {
  readonly message: QueuedMessage;
  readonly visibleAt: number;
}

export class LocalQueue {
  /** Visible messages, oldest first; `head` moves instead of shifting the array. */
  private ready: (QueuedMessage | undefined)[] = [];
  private head = 0;
  private readonly hidden = new Set<Hidden>();
  private readonly inFlight = new Set<QueuedMessage>();

  constructor(
    readonly name: string,
    readonly region: string,
  ) {}

  get arn(): string {
    return `arn:aws:sqs:${this.region}:${LOCAL_ACCOUNT_ID}:${this.name}`;
  }

  /** Adds a message, visible now or after `delayMs`. */
  enqueue(message: NewMessage, delayMs: number, now = Date.now()): QueuedMessage {
    const queued: QueuedMessage = {
      ...message,
      messageId: randomUUID(),
      sentTimestamp: now,
      receiveCount: 0,
      firstReceiveTimestamp: undefined,
      receivedAt: 0,
      receiptHandle: '',
    };
    if (delayMs > 0) this.hidden.add({ message: queued, visibleAt: now + delayMs });
    else this.ready.push(queued);
    return queued;
  }

  /** Takes the oldest visible message and puts it in flight, counting the receive; undefined if none is visible. */
  receive(now = Date.now()): QueuedMessage | undefined {
    this.revealDue(now);
    const message = this.ready[this.head];
    if (message === undefined) return undefined;
    this.ready[this.head] = undefined;
    this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.head);
      this.head = 0;
    }
    message.receiveCount += 1;
    message.firstReceiveTimestamp ??= now;
    message.receivedAt = now;
    message.receiptHandle = Buffer.from(`${message.messageId}:${randomUUID()}`).toString('base64');
    this.inFlight.add(message);
    return message;
  }

  /** Deletes a message in flight (processed, or moved to the dead-letter list). */
  remove(message: QueuedMessage): void {
    this.inFlight.delete(message);
  }

  /** Puts a message in flight back, hidden until `visibleAt`. */
  returnAt(message: QueuedMessage, visibleAt: number): void {
    if (!this.inFlight.delete(message)) return;
    this.hidden.add({ message, visibleAt });
  }

  /** When the next hidden message becomes visible; undefined if none is hidden. */
  nextVisibleAt(): number | undefined {
    let next: number | undefined;
    for (const { visibleAt } of this.hidden) if (next === undefined || visibleAt < next) next = visibleAt;
    return next;
  }

  counts(now = Date.now()): QueueCounts {
    this.revealDue(now);
    let delayed = 0;
    for (const { message } of this.hidden) if (message.receiveCount === 0) delayed += 1;
    return {
      visible: this.ready.length - this.head,
      notVisible: this.inFlight.size + this.hidden.size - delayed,
      delayed,
    };
  }

  /** True when no message is waiting, hidden or in flight. */
  get empty(): boolean {
    return this.ready.length === this.head && this.hidden.size === 0 && this.inFlight.size === 0;
  }

  /** Empties the queue of every message not in flight and returns them (shutdown drops them). */
  takeWaiting(): QueuedMessage[] {
    const visible = this.ready.slice(this.head).filter((message) => message !== undefined);
    const waiting = [...visible, ...[...this.hidden].map(({ message }) => message)];
    this.ready = [];
    this.head = 0;
    this.hidden.clear();
    return waiting;
  }

  /** Moves hidden messages whose time has come to the visible ones, oldest visibility first. */
  private revealDue(now: number): void {
    if (this.hidden.size === 0) return;
    const due = [...this.hidden].filter(({ visibleAt }) => visibleAt <= now);
    due.sort((a, b) => a.visibleAt - b.visibleAt);
    for (const entry of due) {
      this.hidden.delete(entry);
      this.ready.push(entry.message);
    }
  }
}
