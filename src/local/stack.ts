/**
 * The local stack: the same handler and uploader the Lambdas run, behind a
 * local front door (API Gateway HTTP API or Function URL), a local Lambda Invoke endpoint, a local
 * SQS mirror queue feeding the uploader and (unless AWS_ENDPOINT_URL_S3 names another store) an
 * embedded S3 server.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { ConfigError, type Environment, type NamedOrigin, parseHandlerConfig } from '../commons/config.js';
import type { FrontDoor } from '../handler/front-door.js';
import {
  eventBuilderFor,
  type FrontDoorEventBuilder,
  fromHttpApiResult,
  frontDoorFromEnv,
  MalformedRequestError,
} from './api-gateway.js';
import { startConditionalS3Proxy } from './conditional-s3.js';
import { LOCAL_STOP_GRACE_MS, LocalLambdaService, lambdaContext, type RunReport } from './lambda-service.js';
import { S3RVER_CREDENTIALS, startS3rver } from './s3-server.js';
import { type SnapshotScheduleSettings, snapshotScheduleFromEnv, startSnapshotSchedule } from './snapshot-schedule.js';
import type { DeliveryReport } from './sqs-delivery.js';
import { LocalSqsService } from './sqs-service.js';
import { startTaggingS3Proxy } from './tagging-s3.js';

export interface LocalStackOptions {
  /** Variables as in Lambda (see docs/configuration.md); the stack fills in its defaults. */
  readonly env: Environment;
  /** Delays before uploader retries; Lambda waits about 1 and 2 minutes. */
  readonly retryDelaysMs?: readonly number[];
}

export interface LocalStack {
  /** Where clients (dnf, curl) send requests, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** The events the handler gets (FRONT_DOOR): an HTTP API's or a Function URL's. */
  readonly frontDoor: FrontDoor;
  readonly originBaseUrl: string;
  /** `ORIGINS`: the named origins and their mirrors (empty: ORIGIN_HOST serves every path). */
  readonly origins: readonly NamedOrigin[];
  readonly s3Endpoint: string;
  /** What the embedded store accepts; undefined for an external one (the usual AWS credential chain). */
  readonly s3Credentials: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
  readonly bucketName: string;
  /** `embedded (<dir>)` or the external endpoint. */
  readonly storeDescription: string;
  /** The repositories checked on a schedule (SNAPSHOT_REPOSITORIES), if any. */
  readonly snapshotSchedule: SnapshotScheduleSettings | undefined;
  /**
   * The mirror queue (MIRROR_QUEUE_URL) and its delivery to the uploader, at
   * most MIRROR_CONCURRENCY at once: its `stats()` (sent, delivered,
   * peakInFlight...) and `deadLetters`.
   */
  readonly mirrorQueue: LocalSqsService;
  /** Waits until every uploader run, retries included, has ended and the mirror queue is empty. */
  drain(): Promise<void>;
  /**
   * Stops taking requests, lets in-flight uploads end, drops the messages still
   * queued for mirroring (each logged), stops the embedded store.
   */
  close(): Promise<void>;
}

export const LOCAL_DEFAULTS = Object.freeze({
  HOST: '127.0.0.1',
  PORT: '8080',
  S3_BUCKET_NAME: 'rpm-cache',
  RPM_CACHE_DATA_DIR: '.rpm-cache',
  UPLOADER_LAMBDA_ARN: 'rpm-cache-uploader',
  MIRROR_CONCURRENCY: '5',
});

type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;

const value = (env: Environment, name: keyof typeof LOCAL_DEFAULTS): string => {
  const set = env[name]?.trim();
  return set === undefined || set === '' ? LOCAL_DEFAULTS[name] : set;
};

/** s3rver in `directory` behind the conditional-write proxy; the benchmark uses it too. */
export const startEmbeddedS3 = async (directory: string, bucketName: string) => {
  const s3rver = await startS3rver(directory, bucketName);
  // Clients talk to the proxies, which add S3's object tags on writes and its conditional writes to s3rver.
  const tagging = await startTaggingS3Proxy(s3rver.endpoint, { ...S3RVER_CREDENTIALS });
  const proxy = await startConditionalS3Proxy(tagging.endpoint, { ...S3RVER_CREDENTIALS });
  return {
    endpoint: proxy.endpoint,
    close: async () => {
      await proxy.close();
      await tagging.close();
      await s3rver.close();
    },
  };
};

/**
 * In Lambda each function has containers of its own, so each logs one cold
 * start. Here both share one process, and so one Powertools logger and one
 * metrics instance, whose cold-start flag the first function would consume:
 * each function's first invocation sets it again.
 */
const coldStartOnce = <H extends (event: never, context: Context) => Promise<unknown>>(lambda: {
  readonly handler: H;
}): { readonly handler: H } => {
  let cold = true;
  const handler = (async (event: never, context: Context) => {
    if (cold) {
      cold = false;
      const { logger } = await import('../commons/powertools.js');
      const { metrics } = await import('../commons/metrics.js');
      for (const utility of [logger, metrics]) (utility as unknown as { coldStart: boolean }).coldStart = true;
    }
    return lambda.handler(event, context);
  }) as H;
  return { handler };
};

/** API Gateway's integration timeout bounds every handler invocation. */
const handlerContext = (requestId: string): Context => lambdaContext('rpm-cache-handler', requestId, 30_000);

type InvocationScope = <T>(requestId: string, work: () => Promise<T>) => Promise<T>;

/**
 * One process serves concurrent invocations here, where Lambda gives each its
 * own environment. Running each in its own InvokeStore context (as Lambda's
 * runtime does under AWS_LAMBDA_MAX_CONCURRENCY) keeps the Powertools logger's
 * per-invocation keys (function name, request id) from bleeding across.
 */
const invocationScope = async (): Promise<InvocationScope> => {
  process.env.AWS_LAMBDA_MAX_CONCURRENCY ??= '64';
  const { InvokeStore, InvokeStoreBase } = await import('@aws/lambda-invoke-store');
  const store = await InvokeStore.getInstanceAsync(true);
  return (requestId, work) => store.run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: requestId }, work);
};

const answerWith =
  (handler: HttpHandler, scope: InvocationScope, toEvent: FrontDoorEventBuilder) =>
  async (request: IncomingMessage, response: ServerResponse) => {
    let event: APIGatewayProxyEventV2;
    try {
      event = toEvent({
        method: request.method ?? 'GET',
        target: request.url ?? '/',
        headers: request.headers,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        protocol: `HTTP/${request.httpVersion}`,
      });
    } catch (error) {
      if (!(error instanceof MalformedRequestError)) throw error;
      response.writeHead(400, { 'content-type': 'text/plain' }).end(error.message);
      return;
    }
    const { requestId } = event.requestContext;
    const answer = fromHttpApiResult(await scope(requestId, () => handler(event, handlerContext(requestId))));
    response.writeHead(answer.statusCode, answer.headers);
    response.end(request.method === 'HEAD' ? undefined : answer.body);
  };

/** PORT as a number, or a ConfigError naming it. */
const listenPort = (env: Environment): number => {
  const port = value(env, 'PORT');
  if (!/^\d+$/.test(port) || Number(port) > 65_535) {
    throw new ConfigError(`PORT=${JSON.stringify(port)} is invalid: expected a port number from 0 to 65535`);
  }
  return Number(port);
};

/** MIRROR_CONCURRENCY (the mirror queue's MaximumConcurrency) as a number, or a ConfigError naming it. */
const mirrorConcurrency = (env: Environment): number => {
  const concurrency = value(env, 'MIRROR_CONCURRENCY');
  if (!/^\d+$/.test(concurrency) || Number(concurrency) < 1 || Number(concurrency) > 1000) {
    throw new ConfigError(
      `MIRROR_CONCURRENCY=${JSON.stringify(concurrency)} is invalid: expected a whole number from 1 to 1000`,
    );
  }
  return Number(concurrency);
};

interface Store {
  readonly endpoint: string;
  readonly description: string;
  /** The embedded store's own credentials; undefined for an external store (the usual AWS chain). */
  readonly credentials: typeof S3RVER_CREDENTIALS | undefined;
  close(): Promise<void>;
}

/** The S3 store: AWS_ENDPOINT_URL_S3 as given, or an embedded one under RPM_CACHE_DATA_DIR. */
const openStore = async (env: Environment, bucketName: string): Promise<Store> => {
  const external = env.AWS_ENDPOINT_URL_S3?.trim();
  if (external !== undefined && external !== '') {
    return { endpoint: external, description: external, credentials: undefined, close: async () => undefined };
  }
  const dataDir = resolve(value(env, 'RPM_CACHE_DATA_DIR'));
  const embedded = await startEmbeddedS3(dataDir, bucketName);
  return {
    endpoint: embedded.endpoint,
    description: `embedded S3 at ${embedded.endpoint}, data in ${dataDir}`,
    credentials: S3RVER_CREDENTIALS,
    close: embedded.close,
  };
};

/** Says what Lambda does next about a failed async run (the uploader logs its own failure). */
const reportRunEnd = (report: RunReport): void => {
  if (report.outcome === 'succeeded') return;
  const level = report.outcome === 'failed-will-retry' ? 'WARN' : 'ERROR';
  process.stderr.write(`${JSON.stringify({ level, message: 'async invoke', ...report, error: undefined })}\n`);
};

/** Says what happened to a mirror-queue message that was not processed (the uploader logs its own failure). */
export const reportDeliveryEnd = (report: DeliveryReport): void => {
  if (report.outcome === 'succeeded') return;
  const level = report.outcome === 'failed-will-retry' ? 'WARN' : 'ERROR';
  const error = report.error === undefined ? undefined : String(report.error);
  process.stderr.write(`${JSON.stringify({ level, message: `mirror queue ${report.outcome}`, ...report, error })}\n`);
};

/** The variables of ours the stack passes on to the Lambda code as given. */
const PASSED_ON = [
  'ORIGIN_HOST',
  'ORIGINS',
  'CACHE_EXTENSIONS',
  'PRESIGNED_URL_EXPIRATION',
  'ORIGIN_HEAD_TIMEOUT',
  'ORIGIN_OFFLINE_PERIOD',
  'ORIGIN_LOST_TTL',
  'SENTRY_DSN',
  'SNAPSHOT_HISTORY_DAYS',
  'RESCUE_URLS',
  'MIRROR_REPOSITORIES',
  'METALINK_URL',
  'METALINK_ANSWER_TTL',
];

const regionOf = (env: Environment): string => env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';

/**
 * The one place that writes the environment the Lambda code reads when it is
 * loaded, as Lambda would set it: endpoints, region, names, and for the
 * embedded store its credentials (no session token or profile of the host).
 */
const setLambdaEnvironment = (
  env: Environment,
  store: Store,
  endpoints: { lambda: string; sqs: string },
  names: { bucketName: string; uploaderName: string; mirrorQueueUrl: string },
): void => {
  const passedOn = Object.fromEntries(
    PASSED_ON.flatMap((name) => (env[name] === undefined ? [] : [[name, env[name]]])),
  );
  Object.assign(process.env, {
    ...(store.credentials !== undefined
      ? {
          AWS_ACCESS_KEY_ID: store.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: store.credentials.secretAccessKey,
          AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
        }
      : {}),
    AWS_ENDPOINT_URL_S3: store.endpoint,
    AWS_ENDPOINT_URL_LAMBDA: endpoints.lambda,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_REGION: regionOf(env),
    S3_BUCKET_NAME: names.bucketName,
    UPLOADER_LAMBDA_ARN: names.uploaderName,
    MIRROR_QUEUE_URL: names.mirrorQueueUrl,
    // Lambda sets it; Powertools reports a cold start only when it says on-demand.
    AWS_LAMBDA_INITIALIZATION_TYPE: env.AWS_LAMBDA_INITIALIZATION_TYPE ?? 'on-demand',
    ...passedOn,
  });
  if (store.credentials !== undefined) {
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
  }
};

/** The local front door (FRONT_DOOR: an HTTP API or a Function URL) in front of the handler, on HOST:PORT. */
const startFront = async (
  handler: HttpHandler,
  scope: InvocationScope,
  toEvent: FrontDoorEventBuilder,
  host: string,
  port: number,
) => {
  const answer = answerWith(handler, scope, toEvent);
  const front: Server = createServer((request, response) => {
    answer(request, response).catch((error: unknown) => {
      // The handler answers every request itself; reaching here is a bug worth a loud 502.
      process.stderr.write(`${JSON.stringify({ level: 'ERROR', message: 'local gateway', error: String(error) })}\n`);
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
      response.end('Internal Server Error');
    });
  });
  await new Promise<void>((resolveListen, reject) => {
    front.once('error', reject);
    front.listen(port, host, resolveListen);
  });
  const bound = (front.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
  const close = async () => {
    if (!front.listening) return;
    front.closeAllConnections();
    await new Promise<void>((resolveClose) => front.close(() => resolveClose()));
  };
  return { url, close };
};

/**
 * Starts the stack: the store, the Lambda Invoke endpoint, the environment
 * the Lambda code reads, the code itself, then the gateway in front. One
 * process runs one stack.
 */
export const startLocalStack = async (options: LocalStackOptions): Promise<LocalStack> => {
  const { env } = options;
  const port = listenPort(env);
  const frontDoor = frontDoorFromEnv(env);
  const toEvent = eventBuilderFor(frontDoor);
  const bucketName = value(env, 'S3_BUCKET_NAME');
  const uploaderName = value(env, 'UPLOADER_LAMBDA_ARN');
  const maxConcurrency = mirrorConcurrency(env);
  const store = await openStore(env, bucketName);

  // The uploader joins the table once its code is loaded, which needs the service's endpoint first.
  const functions: Record<string, (event: unknown, context: Context) => Promise<unknown>> = {};
  const lambdaService = new LocalLambdaService({
    functions,
    ...(options.retryDelaysMs === undefined ? {} : { retryDelaysMs: options.retryDelaysMs }),
    onRunEnd: reportRunEnd,
  });
  // The mirror queue's event source mapping: batch size 1, at most MIRROR_CONCURRENCY uploader runs at once.
  const mirrorQueue = new LocalSqsService({
    functions,
    functionName: uploaderName,
    maxConcurrency,
    region: regionOf(env),
    onDeliveryEnd: reportDeliveryEnd,
  });
  const endpoints = { lambda: await lambdaService.listen(), sqs: await mirrorQueue.listen() };
  setLambdaEnvironment(env, store, endpoints, { bucketName, uploaderName, mirrorQueueUrl: mirrorQueue.queueUrl });

  // The same parse the Lambda code does on load: what the start line reports is what runs.
  const { originBaseUrl, origins } = parseHandlerConfig(process.env);
  const snapshotSchedule = snapshotScheduleFromEnv(env);
  const scope = await invocationScope();
  const { handler } = coldStartOnce(await import('../handler/handler.js'));
  const uploader = coldStartOnce(await import('../uploader/uploader.js'));
  functions[uploaderName] = (event, context) => scope(context.awsRequestId, () => uploader.handler(event, context));
  const front = await startFront(handler, scope, toEvent, value(env, 'HOST'), port);
  // Invoked as EventBridge invokes the deployed uploader: an asynchronous Invoke through the Lambda endpoint.
  const scheduler = new LambdaClient({});
  const schedule =
    snapshotSchedule === undefined
      ? undefined
      : startSnapshotSchedule(snapshotSchedule, {
          lambda: scheduler,
          uploaderName,
          onError: (error) =>
            process.stderr.write(
              `${JSON.stringify({ level: 'ERROR', message: 'snapshot schedule', error: String(error) })}\n`,
            ),
        });
  let closed = false;

  return {
    url: front.url,
    frontDoor,
    originBaseUrl,
    origins,
    s3Endpoint: store.endpoint,
    s3Credentials: store.credentials === undefined ? undefined : { ...store.credentials },
    bucketName,
    storeDescription: store.description,
    snapshotSchedule,
    mirrorQueue,
    // Each may feed the other (a run sends messages, a message runs the uploader): settled when both are idle.
    drain: async () => {
      do {
        await lambdaService.drain();
        await mirrorQueue.drain();
      } while (!(lambdaService.idle && mirrorQueue.idle));
    },
    close: async () => {
      if (closed) return;
      closed = true;
      schedule?.stop();
      scheduler.destroy();
      await front.close();
      // Together: no new uploader run starts from the queue while the Lambda stand-in lets its runs end.
      const [cutShort] = await Promise.all([lambdaService.close(), mirrorQueue.close()]);
      if (cutShort > 0) {
        // Said, not silent: a reader was told in-flight uploads finish first.
        process.stderr.write(
          `${JSON.stringify({ level: 'WARN', message: 'stopped', uploadsCutShort: cutShort, reason: `still running after ${LOCAL_STOP_GRACE_MS / 1000} s: nothing of them stored, the next request for each triggers it again` })}\n`,
        );
      }
      await store.close();
    },
  };
};
