/**
 * What a finished warm (or mirror) run amounts to: its exit status and, when
 * the results point at the command line rather than at the packages, a hint
 * that says which option to look at. Every package `skipped` means nothing
 * was warmed (usually origins that name other hosts than the lockfile's);
 * every package `lost` usually means a `--cache` without its path prefix or
 * API stage, where the cache's origin has none of them, or (asked by the
 * URLs' own paths) a lockfile from a mirror whose paths differ from the origin's.
 */
import type { WarmResult } from './warm.js';
import { UNMATCHED_REASON } from './warm.js';

/** `--origins` and `--origin-host` as given to warm; undefined for commands that take neither. */
export interface OriginOptions {
  readonly origins?: string;
  readonly originHost?: string;
}

export interface RunContext {
  readonly cacheUrl: string;
  readonly originOptions?: OriginOptions;
  /** Each package was asked at its URL's own path (warm with neither --origins nor --origin-host). */
  readonly byUrlPath?: boolean;
}

/** `ok` 0, `notAllCached` 1, `nothingWarmed` 2 (the command line, not the packages, is likely wrong). */
export type RunStatus = 'ok' | 'notAllCached' | 'nothingWarmed';

export interface RunVerdict {
  readonly status: RunStatus;
  /** One line for the user, when the results point at an option. */
  readonly hint?: string;
}

/** At most three values, then how many more: a hint stays one line. */
const listed = (values: readonly string[]): string =>
  values.length <= 3 ? values.join(', ') : `${values.slice(0, 3).join(', ')} and ${values.length - 3} more`;

/** The origins (scheme, host, port) of `urls`, each once, in order. */
export const hostsOfUrls = (urls: readonly string[]): string[] => [
  ...new Set(
    urls.map((url) => {
      try {
        return new URL(url).origin;
      } catch {
        // Lockfile URLs were checked when read; a package from elsewhere (mirror) may be a path.
        return url;
      }
    }),
  ),
];

const hostsOf = (results: readonly WarmResult[]): string[] => hostsOfUrls(results.map(({ package: pkg }) => pkg.url));

const givenOrigins = ({ origins, originHost }: OriginOptions): string =>
  [
    ...(origins === undefined ? [] : [`--origins '${origins}'`]),
    ...(originHost === undefined ? [] : [`--origin-host ${originHost}`]),
  ].join(' ');

/**
 * A scheme-less `--origin-host` is read as https, as the deployment reads `ORIGIN_HOST`
 * (`dl.fedoraproject.org`); when the lockfile uses that host and port over http, that reading is the
 * whole story (`127.0.0.1:8081`), and "names none of them" alone would contradict what the user typed.
 */
const schemeReading = (hosts: readonly string[], { originHost }: OriginOptions): string | undefined => {
  if (originHost === undefined || /^[a-z][a-z0-9+.-]*:\/\//i.test(originHost)) return undefined;
  let asHttp: string;
  try {
    asHttp = new URL(`http://${originHost}`).origin;
  } catch {
    return undefined;
  }
  if (!hosts.includes(asHttp)) return undefined;
  return (
    `--origin-host ${originHost} was read as https://${originHost}; the lockfile uses ${asHttp}: ` +
    `give the scheme (--origin-host ${asHttp})`
  );
};

/**
 * Why origin options matched none of the URLs under `hosts` (warm's all-skipped hint, rewrite's nothing to
 * rewrite): the options given and the hosts, or how a scheme-less --origin-host was read.
 */
export const unmatchedOriginsHint = (hosts: readonly string[], options: OriginOptions): string => {
  const reading = schemeReading(hosts, options);
  if (reading !== undefined) return reading;
  const shown = listed(hosts);
  return (
    `the lockfiles' URLs are under ${shown}, and ${givenOrigins(options)} names none of them; ` +
    `pass the deployment's ORIGINS (--origins) or ORIGIN_HOST (--origin-host) that serve ${shown}`
  );
};

const nothingWarmedHint = (results: readonly WarmResult[], context: RunContext): string => {
  const hosts = listed(hostsOf(results));
  const all = `nothing warmed: all ${results.length} package(s) were skipped`;
  const options = context.originOptions;
  const unmatched = results.some((result) => result.reason === UNMATCHED_REASON);
  if (options !== undefined && unmatched) return `${all}: ${unmatchedOriginsHint(hostsOf(results), options)}`;
  const cause = 'the cache caches none of them (X-Cache: bypass: not a file type among its CACHE_EXTENSIONS)';
  if (options === undefined) return `${all}: ${cause}; their URLs are under ${hosts}`;
  return (
    `${all}: ${cause}; their URLs are under ${hosts}: do --origins/--origin-host ` +
    "match the deployment's ORIGINS/ORIGIN_HOST, and is --cache that deployment?"
  );
};

const allLostHint = (results: readonly WarmResult[], context: RunContext): string => {
  const lost = results.filter((result) => result.state === 'lost');
  const first = lost[0];
  const asked = first === undefined ? '' : ` (the first was asked at ${context.cacheUrl}/${first.package.path})`;
  // Asked by their own paths, a mirror's URLs (/fedora/linux/...) miss an origin that serves /pub/fedora/linux/...
  const byPath =
    context.byUrlPath === true
      ? ` Or the lockfile's URLs (under ${listed(hostsOf(lost))}) were asked by their own paths: a mirror whose ` +
        "paths differ from the deployment's origin needs --origins/--origin-host (the deployment's ORIGINS/ORIGIN_HOST)."
      : '';
  return (
    `every package is lost: the cache's origin has none of them${asked}. If they should be there, --cache may ` +
    `point at the wrong place: is ${context.cacheUrl} the stack's ApiUrl, with its path prefix or API stage?` +
    (context.originOptions === undefined ? '' : ' And do --origins/--origin-host match the deployment?') +
    byPath
  );
};

/** The exit status of a run that was not interrupted, and a hint when every package was skipped or lost. */
export const verdictOf = (results: readonly WarmResult[], context: RunContext): RunVerdict => {
  if (results.length > 0 && results.every((result) => result.state === 'skipped')) {
    return { status: 'nothingWarmed', hint: nothingWarmedHint(results, context) };
  }
  const asked = results.filter((result) => result.state !== 'skipped');
  if (asked.length > 0 && asked.every((result) => result.state === 'lost')) {
    return { status: 'notAllCached', hint: allLostHint(results, context) };
  }
  const ok = results.every((result) => result.state !== 'lost' && result.state !== 'failed');
  return { status: ok ? 'ok' : 'notAllCached' };
};
