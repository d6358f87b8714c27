/**
 * A local stand-in for the SQS API, enough for the real `@aws-sdk/client-sqs`
 * (AWS JSON 1.0: `POST /` with `x-amz-target: AmazonSQS.<Operation>`):
 * SendMessage, SendMessageBatch, GetQueueAttributes and GetQueueUrl on one
 * standard queue, whose messages go to a function through a local event
 * source mapping (./sqs-delivery.ts). Errors carry the `__type` and the
 * `x-amzn-query-error` header SQS sends, so the SDK throws its named errors.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SQSMessageAttribute, SQSMessageAttributes } from 'aws-lambda';
import { type DeadLetter, type DeliveryStats, type SqsDeliveryOptions, SqsEventSourceMapping } from './sqs-delivery.js';
import { LOCAL_ACCOUNT_ID, LocalQueue, type NewMessage } from './sqs-queue.js';

export interface LocalSqsServiceOptions extends SqsDeliveryOptions {
  /** The queue's name; its URL is `<endpoint>/000000000000/<name>`. */
  readonly queueName?: string;
  /** The region in the queue's ARN and the events (default AWS_REGION, else us-east-1). */
  readonly region?: string;
  /** The largest message, and the largest SendMessageBatch in total (SQS's MaximumMessageSize). */
  readonly maxMessageBytes?: number;
}

export interface SqsStats extends DeliveryStats {
  /** Messages accepted by SendMessage and SendMessageBatch. */
  readonly sent: number;
}

export const DEFAULT_QUEUE_NAME = 'rpm-cache-mirror';
export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024;
const MAX_BATCH_ENTRIES = 10;
const MAX_MESSAGE_ATTRIBUTES = 10;
const MAX_DELAY_SECONDS = 900;
const BATCH_ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;
/** What SQS accepts in a body: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF. */
const REFUSED_CHARACTER = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const JSON_1_0 = 'application/x-amz-json-1.0';

/** The errors served, by the name the SDK knows, with the code of SQS's query API (the `x-amzn-query-error` header) and the status. */
const SQS_ERRORS = {
  QueueDoesNotExist: ['AWS.SimpleQueueService.NonExistentQueue', 400],
  UnsupportedOperation: ['AWS.SimpleQueueService.UnsupportedOperation', 400],
  InvalidAddress: ['InvalidAddress', 404],
  EmptyBatchRequest: ['AWS.SimpleQueueService.EmptyBatchRequest', 400],
  TooManyEntriesInBatchRequest: ['AWS.SimpleQueueService.TooManyEntriesInBatchRequest', 400],
  InvalidBatchEntryId: ['AWS.SimpleQueueService.InvalidBatchEntryId', 400],
  BatchEntryIdsNotDistinct: ['AWS.SimpleQueueService.BatchEntryIdsNotDistinct', 400],
  BatchRequestTooLong: ['AWS.SimpleQueueService.BatchRequestTooLong', 400],
  InvalidMessageContents: ['InvalidMessageContents', 400],
  InvalidAttributeName: ['InvalidAttributeName', 400],
  InvalidParameterValue: ['InvalidParameterValue', 400],
  MissingParameter: ['MissingParameter', 400],
  SerializationException: ['SerializationException', 400],
  RequestEntityTooLarge: ['RequestEntityTooLarge', 413],
  ServiceUnavailable: ['ServiceUnavailable', 503],
  InternalFailure: ['InternalFailure', 500],
} as const satisfies Record<string, readonly [queryCode: string, status: number]>;

type SqsErrorType = keyof typeof SQS_ERRORS;

/** A request SQS would refuse: answered with its error, or a Failed entry of a batch. */
class SqsError extends Error {
  constructor(
    readonly type: SqsErrorType,
    message: string,
  ) {
    super(message);
  }
}

type JsonObject = Readonly<Record<string, unknown>>;

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const md5Hex = (data: string | Uint8Array): string => createHash('md5').update(data).digest('hex');

const sendJson = (response: ServerResponse, requestId: string, output: object): void => {
  response.writeHead(200, { 'content-type': JSON_1_0, 'x-amzn-requestid': requestId }).end(JSON.stringify(output));
};

const sendError = (response: ServerResponse, requestId: string, error: SqsError): void => {
  const [queryCode, status] = SQS_ERRORS[error.type];
  response
    .writeHead(status, {
      'content-type': JSON_1_0,
      'x-amzn-requestid': requestId,
      'x-amzn-query-error': `${queryCode};${status >= 500 ? 'Receiver' : 'Sender'}`,
    })
    .end(JSON.stringify({ __type: `com.amazonaws.sqs#${error.type}`, message: error.message }));
};

/** The operation an SQS JSON request names in `x-amz-target`. */
const operationOf = (request: IncomingMessage): string => {
  const target = request.headers['x-amz-target'];
  const operation = typeof target === 'string' && target.startsWith('AmazonSQS.') ? target.slice(10) : undefined;
  if (request.method !== 'POST' || operation === undefined) {
    throw new SqsError('UnsupportedOperation', 'only the AWS JSON 1.0 protocol (x-amz-target: AmazonSQS.*) is served');
  }
  return operation;
};

const readJsonObject = async (request: IncomingMessage, limitBytes: number): Promise<JsonObject> => {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) throw new SqsError('RequestEntityTooLarge', `request larger than ${limitBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  let input: unknown;
  try {
    input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new SqsError('SerializationException', 'the request body is not JSON');
  }
  if (!isObject(input)) throw new SqsError('SerializationException', 'the request body is not a JSON object');
  return input;
};

const requiredString = (input: JsonObject, name: string): string => {
  const value = input[name];
  if (typeof value !== 'string' || value === '') {
    throw new SqsError('MissingParameter', `The request must contain the parameter ${name}.`);
  }
  return value;
};

/** DelaySeconds in milliseconds: 0 to 900 s, 0 when absent. */
const delayMsOf = (input: JsonObject): number => {
  const delay = input.DelaySeconds;
  if (delay === undefined || delay === null) return 0;
  if (typeof delay !== 'number' || !Number.isInteger(delay) || delay < 0 || delay > MAX_DELAY_SECONDS) {
    throw new SqsError(
      'InvalidParameterValue',
      `Value ${JSON.stringify(delay)} for parameter DelaySeconds is invalid. Reason: must be between 0 and ${MAX_DELAY_SECONDS}, if provided.`,
    );
  }
  return delay * 1000;
};

/** One message attribute as the SDK sends it, in the shape Lambda passes on, with its value's bytes. */
const messageAttribute = (name: string, value: unknown): { attribute: SQSMessageAttribute; bytes: Buffer } => {
  const dataType = isObject(value) ? value.DataType : undefined;
  const kind = typeof dataType === 'string' ? dataType.split('.')[0] : undefined;
  const stringValue = isObject(value) ? value.StringValue : undefined;
  const binaryValue = isObject(value) ? value.BinaryValue : undefined;
  const refuse = (why: string) => new SqsError('InvalidParameterValue', `Message attribute '${name}' ${why}.`);
  if (typeof dataType !== 'string' || (kind !== 'String' && kind !== 'Number' && kind !== 'Binary')) {
    throw refuse('must have a DataType of String, Number or Binary (optionally with a .suffix)');
  }
  const list = { stringListValues: [], binaryListValues: [], dataType };
  if (kind === 'Binary') {
    if (typeof binaryValue !== 'string' || binaryValue === '') throw refuse('must have a non-empty BinaryValue');
    return { attribute: { ...list, binaryValue }, bytes: Buffer.from(binaryValue, 'base64') };
  }
  if (typeof stringValue !== 'string' || stringValue === '') throw refuse('must have a non-empty StringValue');
  return { attribute: { ...list, stringValue }, bytes: Buffer.from(stringValue, 'utf8') };
};

/** A length-prefixed field of SQS's message-attribute digest. */
const lengthPrefixed = (bytes: Buffer): Buffer => {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
};

/**
 * MD5OfMessageAttributes as SQS computes it: for each attribute by name,
 * name, data type, transport type (1 string, 2 binary) and value.
 */
const md5OfAttributes = (attributes: SQSMessageAttributes): string => {
  const parts = Object.keys(attributes)
    .sort()
    .flatMap((name) => {
      const attribute = attributes[name];
      if (attribute === undefined) return [];
      const binary = attribute.binaryValue !== undefined;
      const value = binary
        ? Buffer.from(attribute.binaryValue ?? '', 'base64')
        : Buffer.from(attribute.stringValue ?? '', 'utf8');
      return [
        lengthPrefixed(Buffer.from(name, 'utf8')),
        lengthPrefixed(Buffer.from(attribute.dataType, 'utf8')),
        Buffer.from([binary ? 2 : 1]),
        lengthPrefixed(value),
      ];
    });
  return md5Hex(Buffer.concat(parts));
};

/** MessageAttributes, their size as SQS counts it (names, types, values), and their digest. */
const messageAttributesOf = (input: JsonObject) => {
  const given = input.MessageAttributes;
  if (given === undefined || given === null) return { messageAttributes: {}, bytes: 0, md5: undefined };
  if (!isObject(given)) throw new SqsError('InvalidParameterValue', 'MessageAttributes must be a map');
  const names = Object.keys(given);
  if (names.length > MAX_MESSAGE_ATTRIBUTES) {
    throw new SqsError(
      'InvalidParameterValue',
      `Number of message attributes [${names.length}] exceeds the allowed maximum [${MAX_MESSAGE_ATTRIBUTES}].`,
    );
  }
  const messageAttributes: Record<string, SQSMessageAttribute> = {};
  let bytes = 0;
  for (const name of names) {
    const { attribute, bytes: value } = messageAttribute(name, given[name]);
    messageAttributes[name] = attribute;
    bytes += Buffer.byteLength(name) + Buffer.byteLength(attribute.dataType) + value.length;
  }
  return { messageAttributes, bytes, md5: names.length === 0 ? undefined : md5OfAttributes(messageAttributes) };
};

/** The size SQS counts against MaximumMessageSize: body and attributes. */
const messageBytes = (input: JsonObject): number => {
  const body = input.MessageBody;
  const bodyBytes = typeof body === 'string' ? Buffer.byteLength(body) : 0;
  try {
    return bodyBytes + messageAttributesOf(input).bytes;
  } catch {
    return bodyBytes; // refused later, with its own reason
  }
};

/** A message to send, checked as SQS checks it, and its delay. */
const messageOf = (input: JsonObject, maxBytes: number): { message: NewMessage; delayMs: number } => {
  const body = requiredString(input, 'MessageBody');
  const refused = REFUSED_CHARACTER.exec(body)?.[0];
  if (refused !== undefined) {
    const code = refused.codePointAt(0)?.toString(16).toUpperCase() ?? '?';
    throw new SqsError(
      'InvalidMessageContents',
      `Invalid binary character '#x${code}' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF`,
    );
  }
  const attributes = messageAttributesOf(input);
  if (Buffer.byteLength(body) + attributes.bytes > maxBytes) {
    throw new SqsError(
      'InvalidParameterValue',
      `One or more parameters are invalid. Reason: Message must be shorter than ${maxBytes} bytes.`,
    );
  }
  const message: NewMessage = {
    body,
    md5OfBody: md5Hex(body),
    messageAttributes: attributes.messageAttributes,
    md5OfMessageAttributes: attributes.md5,
  };
  return { message, delayMs: delayMsOf(input) };
};

/** A batch's entries, checked as SQS checks the whole request before any entry. */
const batchEntriesOf = (input: JsonObject, maxBytes: number): readonly (JsonObject & { Id: string })[] => {
  const entries = input.Entries;
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new SqsError(
      'EmptyBatchRequest',
      'There should be at least one SendMessageBatchRequestEntry in the request.',
    );
  }
  if (entries.length > MAX_BATCH_ENTRIES) {
    throw new SqsError(
      'TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are ${MAX_BATCH_ENTRIES}. You have sent ${entries.length}.`,
    );
  }
  const checked = entries.map((entry: unknown) => {
    const id = isObject(entry) ? entry.Id : undefined;
    if (!isObject(entry) || typeof id !== 'string' || !BATCH_ENTRY_ID.test(id)) {
      throw new SqsError(
        'InvalidBatchEntryId',
        'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
      );
    }
    return { ...entry, Id: id };
  });
  const seen = new Set<string>();
  for (const { Id } of checked) {
    if (seen.has(Id)) throw new SqsError('BatchEntryIdsNotDistinct', `Id ${Id} repeated.`);
    seen.add(Id);
  }
  const total = checked.reduce((sum, entry) => sum + messageBytes(entry), 0);
  if (total > maxBytes) {
    throw new SqsError(
      'BatchRequestTooLong',
      `Batch requests cannot be longer than ${maxBytes} bytes. You have sent ${total} bytes.`,
    );
  }
  return checked;
};

/** The queue attributes served by GetQueueAttributes. */
const QUEUE_ATTRIBUTES = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'MaximumMessageSize',
  'QueueArn',
] as const;

type QueueAttribute = (typeof QUEUE_ATTRIBUTES)[number];

const isQueueAttribute = (name: string): name is QueueAttribute =>
  (QUEUE_ATTRIBUTES as readonly string[]).includes(name);

export class LocalSqsService {
  private readonly server: Server;
  private readonly queue: LocalQueue;
  private readonly mapping: SqsEventSourceMapping;
  private readonly maxMessageBytes: number;
  /** MaximumConcurrency of the delivery. */
  readonly maxConcurrency: number;
  private endpoint: string | undefined;
  private sent = 0;
  private closing = false;
  private readonly operations: Readonly<Record<string, (input: JsonObject) => object>> = {
    SendMessage: (input) => this.sendMessage(input),
    SendMessageBatch: (input) => this.sendMessageBatch(input),
    GetQueueAttributes: (input) => this.getQueueAttributes(input),
    GetQueueUrl: (input) => this.getQueueUrl(input),
  };

  constructor(options: LocalSqsServiceOptions) {
    this.queue = new LocalQueue(
      options.queueName ?? DEFAULT_QUEUE_NAME,
      options.region ?? process.env.AWS_REGION ?? 'us-east-1',
    );
    this.mapping = new SqsEventSourceMapping(this.queue, options);
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.maxConcurrency = options.maxConcurrency;
    this.server = createServer((request, response) => this.answer(request, response));
  }

  /** Starts the server; resolves to its endpoint (AWS_ENDPOINT_URL_SQS). */
  async listen(host = '127.0.0.1', port = 0): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(port, host, resolve));
    const address = this.server.address() as AddressInfo;
    this.endpoint = `http://${host}:${address.port}`;
    return this.endpoint;
  }

  get queueName(): string {
    return this.queue.name;
  }

  /** `<endpoint>/000000000000/<name>`, once listening. */
  get queueUrl(): string {
    if (this.endpoint === undefined) throw new Error('the local SQS service is not listening yet');
    return `${this.endpoint}/${LOCAL_ACCOUNT_ID}/${this.queue.name}`;
  }

  get queueArn(): string {
    return this.queue.arn;
  }

  stats(): SqsStats {
    return { sent: this.sent, ...this.mapping.stats() };
  }

  /** What the dead-letter queue would hold, oldest first. */
  get deadLetters(): readonly DeadLetter[] {
    return this.mapping.deadLetters;
  }

  /** True when no message waits and no delivery runs. */
  get idle(): boolean {
    return this.mapping.idle;
  }

  /** Waits until the queue is empty and no delivery runs, redeliveries included. */
  drain(): Promise<void> {
    return this.mapping.drain();
  }

  /**
   * Stops taking messages and delivering them: the messages still waiting
   * are dropped (reported), deliveries in progress get up to `graceMs`.
   */
  async close(graceMs = 10_000): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.mapping.close(graceMs);
    this.server.closeIdleConnections();
    await closed;
  }

  private answer(request: IncomingMessage, response: ServerResponse): void {
    const requestId = randomUUID();
    this.perform(request).then(
      (output) => sendJson(response, requestId, output),
      (error: unknown) => {
        const refusal =
          error instanceof SqsError
            ? error
            : new SqsError('InternalFailure', error instanceof Error ? error.message : String(error));
        sendError(response, requestId, refusal);
      },
    );
  }

  private async perform(request: IncomingMessage): Promise<object> {
    const operation = operationOf(request);
    // JSON escaping at most doubles a body; attributes' base64 adds a third.
    const input = await readJsonObject(request, 3 * this.maxMessageBytes + 64 * 1024);
    const perform = Object.hasOwn(this.operations, operation) ? this.operations[operation] : undefined;
    if (perform === undefined) {
      throw new SqsError('UnsupportedOperation', `${operation} is not served by the local SQS stand-in`);
    }
    if (this.closing) throw new SqsError('ServiceUnavailable', 'the local stack is shutting down');
    return perform(input);
  }

  /** The queue a request's QueueUrl names: this one, or an error SQS would send. */
  private checkQueueUrl(input: JsonObject): void {
    const queueUrl = requiredString(input, 'QueueUrl');
    let path: string;
    try {
      path = new URL(queueUrl).pathname;
    } catch {
      throw new SqsError('InvalidAddress', `The address ${queueUrl} is not valid for this endpoint.`);
    }
    if (path !== `/${LOCAL_ACCOUNT_ID}/${this.queue.name}`) {
      throw new SqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    }
  }

  private enqueue(input: JsonObject) {
    const { message, delayMs } = messageOf(input, this.maxMessageBytes);
    const queued = this.queue.enqueue(message, delayMs);
    this.sent += 1;
    this.mapping.wake();
    return {
      MessageId: queued.messageId,
      MD5OfMessageBody: queued.md5OfBody,
      ...(queued.md5OfMessageAttributes === undefined ? {} : { MD5OfMessageAttributes: queued.md5OfMessageAttributes }),
    };
  }

  private sendMessage(input: JsonObject): object {
    this.checkQueueUrl(input);
    return this.enqueue(input);
  }

  /** Each entry succeeds or fails on its own, once the request as a whole passes. */
  private sendMessageBatch(input: JsonObject): object {
    this.checkQueueUrl(input);
    const Successful: object[] = [];
    const Failed: object[] = [];
    for (const entry of batchEntriesOf(input, this.maxMessageBytes)) {
      try {
        Successful.push({ Id: entry.Id, ...this.enqueue(entry) });
      } catch (error) {
        if (!(error instanceof SqsError)) throw error;
        Failed.push({ Id: entry.Id, SenderFault: true, Code: error.type, Message: error.message });
      }
    }
    return { Successful, Failed };
  }

  private getQueueAttributes(input: JsonObject): object {
    this.checkQueueUrl(input);
    const asked = input.AttributeNames;
    const names = Array.isArray(asked) ? asked : [];
    const counts = this.queue.counts();
    const values: Record<QueueAttribute, string> = {
      ApproximateNumberOfMessages: String(counts.visible),
      ApproximateNumberOfMessagesNotVisible: String(counts.notVisible),
      ApproximateNumberOfMessagesDelayed: String(counts.delayed),
      MaximumMessageSize: String(this.maxMessageBytes),
      QueueArn: this.queue.arn,
    };
    const Attributes: Partial<Record<QueueAttribute, string>> = {};
    for (const name of names.includes('All') ? QUEUE_ATTRIBUTES : names) {
      if (typeof name !== 'string' || !isQueueAttribute(name)) {
        throw new SqsError('InvalidAttributeName', `Unknown Attribute ${String(name)}.`);
      }
      Attributes[name] = values[name];
    }
    return { Attributes };
  }

  private getQueueUrl(input: JsonObject): object {
    const name = requiredString(input, 'QueueName');
    const owner = input.QueueOwnerAWSAccountId;
    if (name !== this.queue.name || (owner !== undefined && owner !== LOCAL_ACCOUNT_ID)) {
      throw new SqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    }
    return { QueueUrl: this.queueUrl };
  }
}
