/**
 * The deployment's settings, from CDK context (`cdk deploy -c name=value`),
 * parsed once into a typed, frozen object. The variables the Lambdas read are
 * checked with the Lambdas' own parser, so a value the function would refuse
 * at init is refused at synth instead, with the same message.
 */
import { parseHandlerConfig, parseRescueTemplates } from '../../src/commons/config.ts';
import { uploadPathProblem } from '../../src/commons/paths.ts';
import { DEFAULT_SNAPSHOT_EVERY_MINUTES, parseSnapshotRepositories } from '../../src/commons/snapshot-schedule.ts';

export type Architecture = 'arm64' | 'x86_64';

/** What answers the clients in front of the handler: an API Gateway HTTP API, or the handler's own Function URL. */
export const FRONT_DOORS = ['http-api', 'function-url'] as const;
export type FrontDoor = (typeof FRONT_DOORS)[number];

/**
 * The handler's reserved concurrency behind a Function URL, where it is the only throttle (beyond it: 429, which
 * dnf retries). About what the HTTP API's burst of 400 occupies when each request takes a quarter of a second (an
 * origin HEAD across an ocean, then S3 and the Invoke); at the ~50 ms of a cached hit near the origin it serves about
 * 2000 requests a second. It leaves 890 of an account's default 1000 to everything else: the uploader reserves its
 * own 10, and Lambda refuses any reservation that leaves less than 100 unreserved.
 */
export const FUNCTION_URL_RESERVED_CONCURRENCY = 100;

export interface DeploymentSettings {
  /** The Lambda environment both functions share (ORIGIN_HOST, CACHE_EXTENSIONS, ...). */
  readonly lambdaEnvironment: Readonly<Record<string, string>>;
  /** Secrets Manager secret (name or ARN) whose value is the Sentry DSN. */
  readonly sentryDsnSecret: string | undefined;
  /** SSM String parameter whose value is the Sentry DSN. */
  readonly sentryDsnParameter: string | undefined;
  readonly architecture: Architecture;
  /** Days after which cached files expire; undefined keeps them for ever. */
  readonly cacheExpirationDays: number | undefined;
  /** Concurrency reserved for (and capping) the uploader; undefined leaves it unreserved. */
  readonly uploaderReservedConcurrency: number | undefined;
  readonly logRetentionDays: number;
  /** Fallbacks in five minutes that raise the alarm. */
  readonly fallbackAlarmThreshold: number;
  /** SNS topic the alarms notify, if any. */
  readonly alarmTopicArn: string | undefined;
  /** Days a file a failed snapshot run left (tagged unreferenced) is kept. */
  readonly snapshotExpirationDays: number;
  /** SNAPSHOT_HISTORY_DAYS: days a superseded snapshot stays servable at /@<time>/; 0 keeps it for ever. */
  readonly snapshotHistoryDays: number;
  /** UPLOAD_REFUSAL_TTL in seconds: how long a refused origin copy is not downloaded again; 0: refusals not recorded. */
  readonly uploadRefusalTtlSeconds: number;
  /** Repositories (paths of the directories that hold repodata/) checked on a schedule. */
  readonly snapshotRepositories: readonly string[];
  /** Minutes between those checks. */
  readonly snapshotEveryMinutes: number;
  /** Minutes the origin may be assumed offline before the alarm goes off. */
  readonly originOfflineAlarmMinutes: number;
  /** The API stage's steady request rate (per second) and burst: beyond them API Gateway answers 429. */
  readonly apiThrottleRate: number;
  readonly apiThrottleBurst: number;
  /** An HTTP API (with its stage throttle and access logs) or a Function URL (AuthType NONE) in front of the handler. */
  readonly frontDoor: FrontDoor;
  /**
   * Concurrency reserved for (and capping) the handler: always set with a Function URL, where it is the only
   * throttle (beyond it the URL answers 429); with the HTTP API only if asked for.
   */
  readonly handlerReservedConcurrency: number | undefined;
  /**
   * MIRROR_REPOSITORIES: repositories (as snapshotRepositories) whose every RPM the uploader stores after each new
   * snapshot, through the mirror queue; empty: no queue at all.
   */
  readonly mirrorRepositories: readonly string[];
  /** The most uploader executions the mirror queue's event source mapping runs at once. */
  readonly mirrorConcurrency: number;
}

export class SettingsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SettingsError';
  }
}

/**
 * Each scheduled repository's rule adds one statement (events.amazonaws.com may invoke the uploader from that rule)
 * to the uploader's resource policy, which Lambda limits to 20 KB. A statement is at most about 510 bytes (a
 * 100-character statement id, 64-character function and rule names, the longest partition and region): 40 fit
 * whatever the names; more would fail at deploy, halfway through the stack's update.
 */
export const MAX_SNAPSHOT_REPOSITORIES = 40;

/**
 * The mirror queue (mirrorRepositories): a file's message is received at most this many times before it goes to the
 * dead-letter queue. Every receive is an uploader run that failed or timed out, or a delivery Lambda kept throttling
 * until the message reappeared.
 */
export const MIRROR_MAX_RECEIVE_COUNT = 5;

/** Mirror uploads at once by default: the uploader's default reserved concurrency, which it must not exceed. */
/** Half the uploader's default reserved concurrency: clients' misses and snapshots keep the other half. */
export const DEFAULT_MIRROR_CONCURRENCY = 5;

/** What each context key means, its default, and the variable it sets: the table in docs/deployment.md. */
export const SETTINGS_HELP = Object.freeze({
  originHost: 'ORIGIN_HOST (default dl.fedoraproject.org)',
  origins: "ORIGINS, named origins and their mirrors: 'name=url[,mirror...] ...' (default: none)",
  cacheExtensions: 'CACHE_EXTENSIONS (default .rpm)',
  presignedUrlExpiration: 'PRESIGNED_URL_EXPIRATION, seconds (default 3600)',
  originHeadTimeout: 'ORIGIN_HEAD_TIMEOUT, seconds (default 5)',
  originOfflinePeriod:
    'ORIGIN_OFFLINE_PERIOD, seconds the origin is assumed offline after a HEAD timeout (default 300; 0: off)',
  originLostTtl: 'ORIGIN_LOST_TTL, seconds a lost file is served without asking the origin (default 3600; 0: off)',
  deploymentEnvironment: 'CKI_DEPLOYMENT_ENVIRONMENT (Sentry environment tag)',
  sentryDsnSecret: 'SENTRY_DSN from this Secrets Manager secret (name or ARN)',
  sentryDsnParameter: 'SENTRY_DSN from this SSM String parameter',
  architecture: 'arm64 (default) or x86_64',
  cacheExpirationDays: 'expire cached files after this many days (default: never)',
  uploaderReservedConcurrency: 'reserved concurrency of the uploader (default 10; "none" to reserve nothing)',
  logRetentionDays: 'CloudWatch log retention in days (default 30)',
  fallbackAlarmThreshold: 'fallbacks in 5 minutes that raise the alarm (default 5)',
  alarmTopicArn: 'SNS topic ARN the alarms notify (default: none)',
  snapshotExpirationDays:
    'keep the files a snapshot run that never completed left behind this many days; a superseded snapshot is kept at least as long (default 30)',
  snapshotHistoryDays:
    'SNAPSHOT_HISTORY_DAYS, days a superseded repository snapshot stays servable at /@<time>/ (default 90; 0: for ever)',
  snapshotRepositories: `repository paths (the directories that hold repodata/, each ending in /) checked on a schedule, at most ${MAX_SNAPSHOT_REPOSITORIES} (default: none)`,
  snapshotEveryMinutes: `minutes between checks of snapshotRepositories (default ${DEFAULT_SNAPSHOT_EVERY_MINUTES})`,
  originOfflineAlarmMinutes: 'alarm when the origin has been assumed offline this many minutes in a row (default 15)',
  apiThrottleRate: 'requests per second the API accepts, steady (default 200; frontDoor=http-api only)',
  apiThrottleBurst: 'requests the API accepts in a burst (default 400; frontDoor=http-api only)',
  frontDoor: 'http-api (default: an API Gateway HTTP API) or function-url (a Lambda Function URL, AuthType NONE)',
  handlerReservedConcurrency: `reserved concurrency of the handler (default ${FUNCTION_URL_RESERVED_CONCURRENCY} with frontDoor=function-url, where it is the only throttle; none with http-api)`,
  mirrorRepositories:
    'MIRROR_REPOSITORIES, repository paths (as snapshotRepositories) whose RPMs the uploader stores after each new snapshot, through an SQS queue (default: none, no queue)',
  mirrorConcurrency: `uploader executions mirroring at once, 2 to 1000, below uploaderReservedConcurrency (default ${DEFAULT_MIRROR_CONCURRENCY}; mirrorRepositories only)`,
  rescueUrls: 'RESCUE_URLS, URL templates of archives tried for a file the origin lost (default: none)',
  metalinkUrl:
    'METALINK_URL, the mirror manager the handler asks for /metalink (and /mirrorlist beside it), e.g. https://mirrors.fedoraproject.org/metalink (default: none, those paths go to the origin)',
  metalinkAnswerTtl:
    "METALINK_ANSWER_TTL, seconds a handler container keeps the mirror manager's answers (default 60; 0: off; countme requests always ask it)",
  uploadRefusalTtl:
    "UPLOAD_REFUSAL_TTL, seconds the uploader's refusal of an origin copy (corrupt, not an RPM) stops its download while the origin serves that copy (default 86400; 0: off)",
});

export type ContextReader = (key: string) => unknown;

/** CloudWatch Logs accepts only these retention periods. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

const text = (read: ContextReader, key: string): string | undefined => {
  const value = read(key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw new SettingsError(`context ${key}=${JSON.stringify(value)} is invalid: expected a string`);
  }
  const trimmed = String(value).trim();
  return trimmed === '' ? undefined : trimmed;
};

const wholeNumber = (read: ContextReader, key: string, min: number, max: number): number | undefined => {
  const value = text(read, key);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new SettingsError(
      `context ${key}=${JSON.stringify(value)} is invalid: expected a whole number from ${min} to ${max}`,
    );
  }
  return Number(value);
};

const isFrontDoor = (value: string): value is FrontDoor => (FRONT_DOORS as readonly string[]).includes(value);

/** Parses the context; every error names the key, the value and what is allowed. */
export const parseSettings = (read: ContextReader): DeploymentSettings => {
  const lambdaEnvironment: Record<string, string> = {};
  for (const [key, variable] of [
    ['originHost', 'ORIGIN_HOST'],
    ['origins', 'ORIGINS'],
    ['cacheExtensions', 'CACHE_EXTENSIONS'],
    ['presignedUrlExpiration', 'PRESIGNED_URL_EXPIRATION'],
    ['originHeadTimeout', 'ORIGIN_HEAD_TIMEOUT'],
    ['originOfflinePeriod', 'ORIGIN_OFFLINE_PERIOD'],
    ['originLostTtl', 'ORIGIN_LOST_TTL'],
    ['deploymentEnvironment', 'CKI_DEPLOYMENT_ENVIRONMENT'],
    ['snapshotHistoryDays', 'SNAPSHOT_HISTORY_DAYS'],
    ['metalinkUrl', 'METALINK_URL'],
    ['metalinkAnswerTtl', 'METALINK_ANSWER_TTL'],
    ['uploadRefusalTtl', 'UPLOAD_REFUSAL_TTL'],
  ] as const) {
    const value = text(read, key);
    if (value !== undefined) lambdaEnvironment[variable] = value;
  }
  // Checked on its own so the error names the key: parseHandlerConfig would name only RESCUE_URLS.
  const rescueUrls = text(read, 'rescueUrls');
  if (rescueUrls !== undefined) {
    try {
      lambdaEnvironment.RESCUE_URLS = parseRescueTemplates(rescueUrls).join(' ');
    } catch (error) {
      throw new SettingsError(`context rescueUrls: ${(error as Error).message}`, { cause: error });
    }
  }
  let snapshotHistoryDays: number;
  let uploadRefusalTtlMs: number;
  try {
    ({ snapshotHistoryDays, uploadRefusalTtlMs } = parseHandlerConfig({
      ...lambdaEnvironment,
      S3_BUCKET_NAME: 'checked-at-synth',
      UPLOADER_LAMBDA_ARN: 'checked-at-synth',
    }));
  } catch (error) {
    throw new SettingsError(`context: ${(error as Error).message}`, { cause: error });
  }

  const repositories = text(read, 'snapshotRepositories');
  let snapshotRepositories: readonly string[] = [];
  try {
    snapshotRepositories =
      repositories === undefined
        ? []
        : parseSnapshotRepositories(repositories, 'context snapshotRepositories', uploadPathProblem);
  } catch (error) {
    throw new SettingsError((error as Error).message, { cause: error });
  }
  if (snapshotRepositories.length > MAX_SNAPSHOT_REPOSITORIES) {
    throw new SettingsError(
      `context snapshotRepositories names ${snapshotRepositories.length} repositories: at most ${MAX_SNAPSHOT_REPOSITORIES} ` +
        "(each rule adds a statement to the uploader's resource policy, which Lambda limits to 20 KB)",
    );
  }
  const snapshotEveryMinutes = wholeNumber(read, 'snapshotEveryMinutes', 1, 1440);
  if (snapshotEveryMinutes !== undefined && snapshotRepositories.length === 0) {
    throw new SettingsError(
      `context snapshotEveryMinutes=${snapshotEveryMinutes} is invalid without snapshotRepositories: there is nothing to check`,
    );
  }

  const mirrorValue = text(read, 'mirrorRepositories');
  let mirrorRepositories: readonly string[] = [];
  try {
    mirrorRepositories =
      mirrorValue === undefined
        ? []
        : parseSnapshotRepositories(mirrorValue, 'context mirrorRepositories', uploadPathProblem);
  } catch (error) {
    throw new SettingsError((error as Error).message, { cause: error });
  }
  const mirrorConcurrency = wholeNumber(read, 'mirrorConcurrency', 2, 1000);
  if (mirrorConcurrency !== undefined && mirrorRepositories.length === 0) {
    throw new SettingsError(
      `context mirrorConcurrency=${mirrorConcurrency} is invalid without mirrorRepositories: there is no mirror queue to consume`,
    );
  }

  const sentryDsnSecret = text(read, 'sentryDsnSecret');
  const sentryDsnParameter = text(read, 'sentryDsnParameter');
  if (sentryDsnSecret !== undefined && sentryDsnParameter !== undefined) {
    throw new SettingsError('context sentryDsnSecret and sentryDsnParameter are both set: choose one');
  }

  const architecture = text(read, 'architecture') ?? 'arm64';
  if (architecture !== 'arm64' && architecture !== 'x86_64') {
    throw new SettingsError(
      `context architecture=${JSON.stringify(architecture)} is invalid: expected arm64 or x86_64`,
    );
  }

  const concurrency = text(read, 'uploaderReservedConcurrency');
  const uploaderReservedConcurrency =
    concurrency === 'none' ? undefined : (wholeNumber(read, 'uploaderReservedConcurrency', 1, 1000) ?? 10);
  // AWS: an SQS event source's maximum concurrency must not exceed the function's reserved concurrency, or Lambda
  // throttles its messages (a throttled message goes back to the queue, and its last receive dead-letters it); and
  // at it, mirroring would hold every uploader for hours while clients' misses and snapshots wait.
  if (
    mirrorRepositories.length > 0 &&
    uploaderReservedConcurrency !== undefined &&
    (mirrorConcurrency ?? DEFAULT_MIRROR_CONCURRENCY) >= uploaderReservedConcurrency
  ) {
    throw new SettingsError(
      `context mirrorConcurrency=${mirrorConcurrency ?? `${DEFAULT_MIRROR_CONCURRENCY} (the default)`} is invalid with ` +
        `uploaderReservedConcurrency=${uploaderReservedConcurrency}: it must be lower, or mirroring takes every uploader ` +
        "(clients' misses and snapshots wait) and Lambda throttles the mirror queue's messages, each return counting " +
        `toward the ${MIRROR_MAX_RECEIVE_COUNT} receives before the dead-letter queue; ` +
        'lower mirrorConcurrency or raise uploaderReservedConcurrency',
    );
  }

  const logRetentionDays = wholeNumber(read, 'logRetentionDays', 1, 3653) ?? 30;
  if (!LOG_RETENTION_DAYS.includes(logRetentionDays)) {
    throw new SettingsError(
      `context logRetentionDays=${logRetentionDays} is invalid: CloudWatch accepts ${LOG_RETENTION_DAYS.join(', ')}`,
    );
  }

  const alarmTopicArn = text(read, 'alarmTopicArn');
  if (alarmTopicArn !== undefined && !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$/.test(alarmTopicArn)) {
    throw new SettingsError(
      `context alarmTopicArn=${JSON.stringify(alarmTopicArn)} is invalid: expected an SNS topic ARN`,
    );
  }

  const frontDoor = text(read, 'frontDoor') ?? 'http-api';
  if (!isFrontDoor(frontDoor)) {
    throw new SettingsError(
      `context frontDoor=${JSON.stringify(frontDoor)} is invalid: expected ${FRONT_DOORS.join(' or ')}`,
    );
  }
  const handlerConcurrency = text(read, 'handlerReservedConcurrency');
  const handlerReservedConcurrency =
    handlerConcurrency === 'none' ? undefined : wholeNumber(read, 'handlerReservedConcurrency', 1, 1000);
  if (frontDoor === 'function-url') {
    if (handlerConcurrency === 'none') {
      throw new SettingsError(
        'context handlerReservedConcurrency="none" is invalid with frontDoor=function-url: it is the only throttle in front of the handler; give a whole number from 1 to 1000',
      );
    }
    // Only the HTTP API has a stage to throttle: refused rather than ignored, so no one believes a limit holds.
    for (const key of ['apiThrottleRate', 'apiThrottleBurst']) {
      const value = text(read, key);
      if (value !== undefined) {
        throw new SettingsError(
          `context ${key}=${JSON.stringify(value)} is invalid with frontDoor=function-url: only frontDoor=http-api has a stage to throttle; handlerReservedConcurrency bounds a Function URL`,
        );
      }
    }
  }

  return Object.freeze({
    lambdaEnvironment: Object.freeze(lambdaEnvironment),
    sentryDsnSecret,
    sentryDsnParameter,
    architecture,
    cacheExpirationDays: wholeNumber(read, 'cacheExpirationDays', 1, 36_500),
    uploaderReservedConcurrency,
    logRetentionDays,
    fallbackAlarmThreshold: wholeNumber(read, 'fallbackAlarmThreshold', 1, 1_000_000) ?? 5,
    alarmTopicArn,
    // A month: clients with metadata cached before a snapshot was superseded keep finding its files.
    snapshotExpirationDays: wholeNumber(read, 'snapshotExpirationDays', 1, 36_500) ?? 30,
    snapshotHistoryDays,
    uploadRefusalTtlSeconds: uploadRefusalTtlMs / 1000,
    snapshotRepositories,
    snapshotEveryMinutes: snapshotEveryMinutes ?? DEFAULT_SNAPSHOT_EVERY_MINUTES,
    // Longer than a mirror's usual hiccup, short enough to act the same shift.
    originOfflineAlarmMinutes: wholeNumber(read, 'originOfflineAlarmMinutes', 1, 1440) ?? 15,
    // A dnf run asks tens of files a second (10 parallel downloads): 200/s serves a dozen CI jobs at full
    // speed while holding the handler near 10-20 concurrent executions, far from the account's 1000.
    apiThrottleRate: wholeNumber(read, 'apiThrottleRate', 1, 10_000) ?? 200,
    apiThrottleBurst: wholeNumber(read, 'apiThrottleBurst', 1, 5_000) ?? 400,
    frontDoor,
    handlerReservedConcurrency:
      frontDoor === 'function-url'
        ? (handlerReservedConcurrency ?? FUNCTION_URL_RESERVED_CONCURRENCY)
        : handlerReservedConcurrency,
    mirrorRepositories,
    mirrorConcurrency: mirrorConcurrency ?? DEFAULT_MIRROR_CONCURRENCY,
  });
};
