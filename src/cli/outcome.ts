/**
 * What a finished warm (or mirror) run amounts to: its exit status and, when
 * the results point at the command line rather than at the packages, a hint
 * that says which option to look at. Every package `skipped` means nothing
 * was warmed (usually origins that name other hosts than the lockfile's);
 * every package `lost` usually means a `--cache` without its path prefix or
 * API stage, where the cache's origin has none of them.
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

const hostsOf = (results: readonly WarmResult[]): string[] => [
  ...new Set(
    results.map(({ package: pkg }) => {
      try {
        return new URL(pkg.url).origin;
      } catch {
        // Lockfile URLs were checked when read; a package from elsewhere (mirror) may be a path.
        return pkg.url;
      }
    }),
  ),
];

const givenOrigins = ({ origins, originHost }: OriginOptions): string =>
  [
    ...(origins === undefined ? [] : [`--origins '${origins}'`]),
    ...(originHost === undefined ? [] : [`--origin-host ${originHost}`]),
  ].join(' ');

const nothingWarmedHint = (results: readonly WarmResult[], context: RunContext): string => {
  const hosts = listed(hostsOf(results));
  const all = `nothing warmed: all ${results.length} package(s) were skipped`;
  const options = context.originOptions;
  const unmatched = results.some((result) => result.reason === UNMATCHED_REASON);
  if (options !== undefined && unmatched) {
    return (
      `${all}: the lockfiles' URLs are under ${hosts}, and ${givenOrigins(options)} names none of them; ` +
      `pass the deployment's ORIGINS (--origins) or ORIGIN_HOST (--origin-host) that serve ${hosts}`
    );
  }
  const cause = 'the cache caches none of them (X-Cache: bypass: not a file type among its CACHE_EXTENSIONS)';
  if (options === undefined) return `${all}: ${cause}; their URLs are under ${hosts}`;
  return (
    `${all}: ${cause}; their URLs are under ${hosts}: do --origins/--origin-host ` +
    "match the deployment's ORIGINS/ORIGIN_HOST, and is --cache that deployment?"
  );
};

const allLostHint = (results: readonly WarmResult[], context: RunContext): string => {
  const first = results.find((result) => result.state === 'lost');
  const asked = first === undefined ? '' : ` (the first was asked at ${context.cacheUrl}/${first.package.path})`;
  return (
    `every package is lost: the cache's origin has none of them${asked}. If they should be there, --cache may ` +
    `point at the wrong place: is ${context.cacheUrl} the stack's ApiUrl, with its path prefix or API stage?` +
    (context.originOptions === undefined ? '' : ' And do --origins/--origin-host match the deployment?')
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
