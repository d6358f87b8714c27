/**
 * Configuration of both Lambdas, parsed once from the environment into a
 * typed, frozen object. Every invalid value is a startup error that names the
 * variable and the value, so a bad deployment fails at init, not per request.
 */

export class ConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** One `ORIGINS` entry: a name and the base URLs that serve the same tree (routing: origins.ts). */
export interface NamedOrigin {
  readonly name: string;
  /** Base URLs without a trailing slash: the first, then its mirrors. */
  readonly urls: readonly [string, ...string[]];
}

/** The origin name of paths that go to `ORIGIN_HOST`, in logs and metrics. */
export const DEFAULT_ORIGIN_NAME = 'default';

/** What an `ORIGINS` name must look like (`default` is taken by `ORIGIN_HOST`). */
export const ORIGIN_NAME = /^[a-z0-9][a-z0-9._-]*$/;

export interface CacheConfig {
  /** Base URL of the origin mirror (`ORIGIN_HOST`), without a trailing slash: paths no named origin claims. */
  readonly originBaseUrl: string;
  /** `ORIGINS`: named origins, each with its mirrors (empty: `ORIGIN_HOST` serves every path). */
  readonly origins: readonly NamedOrigin[];
  readonly bucketName: string;
  /** File name suffixes that are cached, e.g. `.rpm`. */
  readonly cacheExtensions: readonly string[];
  readonly presignedUrlExpirationSeconds: number;
  readonly originHeadTimeoutMs: number;
  readonly sentryDsn: string | undefined;
  readonly deploymentEnvironment: string | undefined;
  /** `SNAPSHOT_HISTORY_DAYS`: how long a superseded repository snapshot stays servable at `/@<time>/`; 0: for ever. */
  readonly snapshotHistoryDays: number;
  /** `RESCUE_URLS`: archive URL templates tried, in order, for a file the origin lost whose checksum the cache knows. */
  readonly rescueTemplates: readonly string[];
  /**
   * `UPLOAD_REFUSAL_TTL`: how long the uploader's refusal of an origin copy answers for that same copy
   * (commons/upload-refusal.ts); 0: refusals are not recorded.
   */
  readonly uploadRefusalTtlMs: number;
}

export interface HandlerConfig extends CacheConfig {
  /** Function name or ARN of the uploader Lambda. */
  readonly uploaderFunctionName: string;
  /** How long an origin HEAD timeout makes a container assume the origin offline; 0: never. */
  readonly originOfflinePeriodMs: number;
  /** How long a container serves a cached file the origin answered 404/410 for without asking again; 0: always ask. */
  readonly originLostTtlMs: number;
  /**
   * `METALINK_URL`: the mirror manager's metalink service (`https://mirrors.fedoraproject.org/metalink`); set, the
   * handler answers `/metalink?<query>` itself (handler/metalink/). Undefined: `/metalink` is a path like any other.
   */
  readonly metalinkUrl: string | undefined;
  /**
   * The same service's mirror list, answering `/mirrorlist?<query>`: METALINK_URL with its last segment `metalink`
   * made `mirrorlist`, as mirrormanager serves both side by side; undefined when METALINK_URL does not end so.
   */
  readonly mirrorlistUrl: string | undefined;
  /** `METALINK_ANSWER_TTL`: how long a container keeps the service's answers (handler/metalink/upstream-memo.ts); 0: never. */
  readonly metalinkAnswerTtlMs: number;
}

export type Environment = Readonly<Record<string, string | undefined>>;

export const DEFAULT_ORIGIN_HOST = 'dl.fedoraproject.org';
export const DEFAULT_CACHE_EXTENSIONS = '.rpm';
export const DEFAULT_PRESIGNED_URL_EXPIRATION = 3600;
export const DEFAULT_ORIGIN_HEAD_TIMEOUT = 5;
/** Seconds a container keeps the mirror manager's answers (see handler/metalink/upstream-memo.ts for why a minute). */
export const DEFAULT_METALINK_ANSWER_TTL = 60;
/** Artifactory's default "assumed offline period"; recovery probes end it sooner (see origin-health). */
export const DEFAULT_ORIGIN_OFFLINE_PERIOD = 300;
/** A file the mirror dropped does not come back; an hour bounds what one container remembers. */
export const DEFAULT_ORIGIN_LOST_TTL = 3600;
/** A day: a mirror that fixes a corrupt copy usually changes it (a new ETag ends the refusal sooner). */
export const DEFAULT_UPLOAD_REFUSAL_TTL = 86_400;
/** A week: beyond it, a copy refused once would stay refused through a repository's whole update cycle. */
export const MAX_UPLOAD_REFUSAL_TTL = 604_800;
/** A day: longer is a cache, not an outage. */
export const MAX_MEMORY_SECONDS = 86_400;
/**
 * A quarter: a build pinned to a snapshot stays reproducible through a
 * Fedora release's busiest months of updates, and the history of one updates
 * repository costs cents a month (docs/time-travel.md prices it).
 */
export const DEFAULT_SNAPSHOT_HISTORY_DAYS = 90;
/** A hundred years: beyond it, 0 (for ever) says what is meant. */
export const MAX_SNAPSHOT_HISTORY_DAYS = 36_500;
/** SigV4 presigned URLs cannot live longer than seven days. */
export const MAX_PRESIGNED_URL_EXPIRATION = 604_800;
/** API Gateway gives the whole request 30 s; the HEAD must leave room for S3. */
export const MAX_ORIGIN_HEAD_TIMEOUT = 25;
/** With mirrors a request may wait for two HEADs (the first URL, then the mirrors at once): both within 30 s. */
export const MAX_ORIGIN_HEAD_TIMEOUT_WITH_MIRRORS = 14;

const invalid = (variable: string, value: string, why: string, options?: ErrorOptions): ConfigError =>
  new ConfigError(`${variable}=${JSON.stringify(value)} is invalid: ${why}`, options);

/**
 * A URL-like value with its user-info (`user:password@`) replaced by `***@`:
 * Lambda writes init errors to CloudWatch, and a password must not go there.
 */
export const hideUserInfo = (value: string): string => value.replace(/^([^/]*\/\/)[^/?#]*@/, '$1***@');

/** Reads a variable; an empty or blank value counts as unset. */
const optional = (env: Environment, variable: string): string | undefined => {
  const value = env[variable]?.trim();
  return value === undefined || value === '' ? undefined : value;
};

const required = (env: Environment, variable: string): string => {
  const value = optional(env, variable);
  if (value === undefined) {
    throw new ConfigError(`${variable} is required but not set`);
  }
  return value;
};

/**
 * A base URL: http(s), no credentials, query or fragment, no trailing slash.
 * `refuse` makes the error that names the variable (never the credentials).
 */
const parseBaseUrl = (
  value: string,
  refuse: (why: string, options?: ErrorOptions) => ConfigError,
  { what, leaksInto }: { readonly what: string; readonly leaksInto: string } = {
    what: 'origin',
    leaksInto: 'redirects',
  },
): string => {
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw refuse('not a URL', { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw refuse(`only http and https ${what}s are supported`);
  }
  if (url.username !== '' || url.password !== '') {
    throw refuse(`credentials in the ${what} URL would leak into ${leaksInto}`);
  }
  if (url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#')) {
    throw refuse('a base URL cannot carry a query or fragment');
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
};

/**
 * Turns `ORIGIN_HOST` into a base URL. A bare host (optionally with a port)
 * means HTTPS; a full `http(s)://` URL is taken as a base URL and may carry a
 * path prefix, but no credentials, query or fragment.
 */
export const parseOriginHost = (value: string): string => {
  const variable = 'ORIGIN_HOST';
  // Errors show the value as given, but never its credentials.
  const shown = hideUserInfo(value);
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value);
  if (!hasScheme) {
    if (!/^[a-z0-9.-]+(:\d{1,5})?$/i.test(value)) {
      throw invalid(
        variable,
        shown,
        'expected a host name (dl.fedoraproject.org) or a base URL (http://127.0.0.1:8081)',
      );
    }
    return parseOriginHost(`https://${value}`);
  }
  return parseBaseUrl(value, (why, options) => invalid(variable, shown, why, options));
};

/**
 * Parses `ORIGINS`: whitespace-separated `name=url[,url...]` entries, each
 * URL `http(s)://host[:port][/base/path]`, the ones after the first its
 * mirrors. Errors name the entry, its credentials hidden.
 */
export const parseOrigins = (value: string): readonly NamedOrigin[] => {
  const origins: NamedOrigin[] = [];
  for (const entry of value.split(/\s+/).filter((text) => text !== '')) {
    const shown = entry
      .split(',')
      .map((part) => hideUserInfo(part.replace(/^([^=]*=)?/, '')))
      .join(',');
    const equals = entry.indexOf('=');
    const name = equals < 0 ? '' : entry.slice(0, equals);
    const label = `ORIGINS entry ${JSON.stringify(equals < 0 ? shown : `${name}=${shown}`)}`;
    const refuse = (why: string, options?: ErrorOptions) => new ConfigError(`${label} is invalid: ${why}`, options);
    if (equals < 0) throw refuse('expected name=url[,url...]');
    if (!ORIGIN_NAME.test(name)) throw refuse(`the name must match ${ORIGIN_NAME.source}`);
    if (name === DEFAULT_ORIGIN_NAME) throw refuse(`"${DEFAULT_ORIGIN_NAME}" names ORIGIN_HOST in logs and metrics`);
    if (origins.some((origin) => origin.name === name)) throw refuse(`${name} is named twice`);
    const urls = entry
      .slice(equals + 1)
      .split(',')
      .map((url) => {
        const refuseUrl = (why: string, options?: ErrorOptions) => refuse(`${hideUserInfo(url)}: ${why}`, options);
        if (!/^https?:\/\//i.test(url)) throw refuseUrl('expected http(s)://host[:port][/base/path]');
        return parseBaseUrl(url, refuseUrl);
      });
    const [first, ...mirrors] = urls;
    if (first === undefined) throw refuse('no URL');
    origins.push(Object.freeze({ name, urls: Object.freeze([first, ...mirrors]) as readonly [string, ...string[]] }));
  }
  return Object.freeze(origins);
};

export const parseCacheExtensions = (value: string): readonly string[] => {
  const extensions = value.split(/\s+/).filter((extension) => extension !== '');
  if (extensions.length === 0) {
    throw invalid('CACHE_EXTENSIONS', value, 'the list is empty');
  }
  for (const extension of extensions) {
    if (!/^\.[^/\\\s]+$/.test(extension)) {
      throw invalid(
        'CACHE_EXTENSIONS',
        value,
        `${JSON.stringify(extension)} must start with a dot and contain no slash`,
      );
    }
  }
  return Object.freeze([...new Set(extensions)]);
};

const parseNumber = (
  variable: string,
  value: string,
  {
    integer,
    max,
    zeroAllowed = false,
    why,
  }: { integer: boolean; max: number; zeroAllowed?: boolean /** Why `max` is the limit. */; why?: string },
): number => {
  const pattern = integer ? /^\d+$/ : /^\d+(\.\d+)?$|^\.\d+$/;
  if (!pattern.test(value)) {
    throw invalid(
      variable,
      value,
      zeroAllowed
        ? 'expected a whole number of seconds'
        : integer
          ? 'expected a positive whole number of seconds'
          : 'expected a positive number of seconds',
    );
  }
  const parsed = Number(value);
  if (zeroAllowed && parsed === 0) return 0;
  if (!(parsed > 0) || parsed > max) {
    throw invalid(
      variable,
      value,
      (zeroAllowed ? `must be 0 (off) or greater, and at most ${max}` : `must be greater than 0 and at most ${max}`) +
        (why === undefined ? '' : ` (${why})`),
    );
  }
  return parsed;
};

/**
 * Checks a Sentry DSN (`https://<public key>@<host>/<project id>`). The Sentry
 * SDK prints a malformed DSN, key included, and then reports nothing; here it
 * is an init error that hides the key.
 */
export const parseSentryDsn = (value: string): string => {
  const variable = 'SENTRY_DSN';
  const shown = hideUserInfo(value);
  const refuse = (why: string) => invalid(variable, shown, why);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${variable} is invalid: not a URL (value hidden: it holds the Sentry key)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse('expected an http(s) URL');
  if (!/^\w+$/.test(url.username)) throw refuse('expected the public key before the host (https://KEY@host/PROJECT)');
  if (!/\/\d+$/.test(url.pathname))
    throw refuse('expected the project id at the end of the path (https://KEY@host/PROJECT)');
  if (url.search !== '' || url.hash !== '') throw refuse('a DSN carries no query or fragment');
  return value;
};

/** A whole number of days, 0 meaning for ever. */
const parseHistoryDays = (value: string | undefined): number => {
  const variable = 'SNAPSHOT_HISTORY_DAYS';
  if (value === undefined) return DEFAULT_SNAPSHOT_HISTORY_DAYS;
  const days = Number(value);
  if (!/^\d+$/.test(value) || days > MAX_SNAPSHOT_HISTORY_DAYS) {
    throw invalid(variable, value, `expected a whole number of days, 0 (for ever) to ${MAX_SNAPSHOT_HISTORY_DAYS}`);
  }
  return days;
};

/** Parses the variables both Lambdas share. */
export const parseCacheConfig = (env: Environment): CacheConfig => {
  const expiration = optional(env, 'PRESIGNED_URL_EXPIRATION');
  const timeout = optional(env, 'ORIGIN_HEAD_TIMEOUT');
  const sentryDsn = optional(env, 'SENTRY_DSN');
  const originsValue = optional(env, 'ORIGINS');
  const origins = originsValue === undefined ? [] : parseOrigins(originsValue);
  const withMirrors = origins.find((origin) => origin.urls.length > 1);
  const timeoutLimit = withMirrors === undefined ? MAX_ORIGIN_HEAD_TIMEOUT : MAX_ORIGIN_HEAD_TIMEOUT_WITH_MIRRORS;
  return Object.freeze({
    originBaseUrl: parseOriginHost(optional(env, 'ORIGIN_HOST') ?? DEFAULT_ORIGIN_HOST),
    origins,
    bucketName: required(env, 'S3_BUCKET_NAME'),
    // Blank counts as unset here too, as for every other variable.
    cacheExtensions: parseCacheExtensions(optional(env, 'CACHE_EXTENSIONS') ?? DEFAULT_CACHE_EXTENSIONS),
    presignedUrlExpirationSeconds:
      expiration === undefined
        ? DEFAULT_PRESIGNED_URL_EXPIRATION
        : parseNumber('PRESIGNED_URL_EXPIRATION', expiration, {
            integer: true,
            max: MAX_PRESIGNED_URL_EXPIRATION,
          }),
    originHeadTimeoutMs:
      1000 *
      (timeout === undefined
        ? DEFAULT_ORIGIN_HEAD_TIMEOUT
        : parseNumber('ORIGIN_HEAD_TIMEOUT', timeout, {
            integer: false,
            max: timeoutLimit,
            ...(withMirrors === undefined
              ? {}
              : { why: `ORIGINS gives ${withMirrors.name} mirrors: a request may wait for two HEADs` }),
          })),
    sentryDsn: sentryDsn === undefined ? undefined : parseSentryDsn(sentryDsn),
    deploymentEnvironment: optional(env, 'CKI_DEPLOYMENT_ENVIRONMENT'),
    snapshotHistoryDays: parseHistoryDays(optional(env, 'SNAPSHOT_HISTORY_DAYS')),
    rescueTemplates: parseRescueTemplates(optional(env, 'RESCUE_URLS')),
    uploadRefusalTtlMs: 1000 * parseUploadRefusalTtl(optional(env, 'UPLOAD_REFUSAL_TTL')),
  });
};

/** `UPLOAD_REFUSAL_TTL` in seconds: a whole number up to a week, 0 for off. */
const parseUploadRefusalTtl = (value: string | undefined): number =>
  value === undefined
    ? DEFAULT_UPLOAD_REFUSAL_TTL
    : parseNumber('UPLOAD_REFUSAL_TTL', value, { integer: true, max: MAX_UPLOAD_REFUSAL_TTL, zeroAllowed: true });

/**
 * `RESCUE_URLS`: URL templates of archives that may still hold a file the
 * origin lost (placeholders and how values fill them: uploader/rescue/templates.ts).
 */
export const RESCUE_PLACEHOLDERS = [
  'name',
  'epoch',
  'version',
  'release',
  'arch',
  'file',
  'source_name',
  'source_version',
  'source_release',
  'first',
] as const;
export type RescuePlaceholder = (typeof RESCUE_PLACEHOLDERS)[number];

const RESCUE_PLACEHOLDER = /\{([a-z_]+)\}/g;

export const isRescuePlaceholder = (name: string): name is RescuePlaceholder =>
  (RESCUE_PLACEHOLDERS as readonly string[]).includes(name);

/**
 * Parses `RESCUE_URLS`: each template an http(s) URL whose host is fixed (no
 * placeholder before the path), with known placeholders only.
 */
export const parseRescueTemplates = (value: string | undefined): readonly string[] => {
  const templates = (value ?? '').split(/\s+/).filter((entry) => entry !== '');
  for (const template of templates) {
    const refuse = (why: string) =>
      new ConfigError(`RESCUE_URLS entry ${JSON.stringify(hideUserInfo(template))} is invalid: ${why}`);
    const match = /^(https?):\/\/([^/{}]+)\/(.*)$/.exec(template);
    if (match === null) throw refuse('expected http(s)://host/path with placeholders in the path only');
    // A password would reach logs and X-Cache-Rescue-Reason with every failed try.
    if (match[2]?.includes('@') === true) throw refuse('credentials in a template would leak into logs and answers');
    for (const [, name = ''] of template.matchAll(RESCUE_PLACEHOLDER)) {
      if (!isRescuePlaceholder(name)) {
        throw refuse(`unknown placeholder {${name}}: expected ${RESCUE_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}`);
      }
    }
    if (/[{}]/.test(template.replace(RESCUE_PLACEHOLDER, ''))) throw refuse('an unmatched { or }');
    if (template.includes('?') || template.includes('#')) throw refuse('a template carries no query or fragment');
  }
  return Object.freeze(templates);
};

/** Seconds (0 allowed: off) as milliseconds, or the default. */
const memorySeconds = (env: Environment, variable: string, fallback: number): number => {
  const value = optional(env, variable);
  const seconds =
    value === undefined
      ? fallback
      : parseNumber(variable, value, { integer: true, max: MAX_MEMORY_SECONDS, zeroAllowed: true });
  return seconds * 1000;
};

/**
 * Parses `METALINK_URL`: an http(s) URL of a mirror manager's metalink
 * service, without credentials, query or fragment (the client's query is
 * added to it, unchanged, on every request).
 */
export const parseMetalinkUrl = (value: string): string => {
  const shown = hideUserInfo(value);
  // The service is asked from the handler, and its URL is logged with every answer.
  return parseBaseUrl(value, (why, options) => invalid('METALINK_URL', shown, why, options), {
    what: 'metalink service',
    leaksInto: 'the logs',
  });
};

/** The mirror list beside a metalink service (`.../metalink` → `.../mirrorlist`), or undefined. */
export const mirrorlistUrlOf = (metalinkUrl: string): string | undefined =>
  /\/metalink$/.test(metalinkUrl) ? metalinkUrl.replace(/metalink$/, 'mirrorlist') : undefined;

/** Parses the handler's variables: the shared ones plus the uploader's name and what a container remembers. */
export const parseHandlerConfig = (env: Environment): HandlerConfig => {
  const metalink = optional(env, 'METALINK_URL');
  const metalinkUrl = metalink === undefined ? undefined : parseMetalinkUrl(metalink);
  return Object.freeze({
    ...parseCacheConfig(env),
    uploaderFunctionName: required(env, 'UPLOADER_LAMBDA_ARN'),
    originOfflinePeriodMs: memorySeconds(env, 'ORIGIN_OFFLINE_PERIOD', DEFAULT_ORIGIN_OFFLINE_PERIOD),
    originLostTtlMs: memorySeconds(env, 'ORIGIN_LOST_TTL', DEFAULT_ORIGIN_LOST_TTL),
    metalinkUrl,
    mirrorlistUrl: metalinkUrl === undefined ? undefined : mirrorlistUrlOf(metalinkUrl),
    metalinkAnswerTtlMs: memorySeconds(env, 'METALINK_ANSWER_TTL', DEFAULT_METALINK_ANSWER_TTL),
  });
};
