/**
 * Which cache path a lockfile URL is asked at, given the deployment's origins
 * (`--origins`, the same syntax as `ORIGINS`, and `--origin-host`, its
 * `ORIGIN_HOST`): a URL under one of an origin's URLs (the first or a mirror:
 * lockfiles made through metalinks pin whichever mirror answered) is
 * `<name>/<rest>`; one under the origin host is `<rest>`. The longest base
 * that matches wins, so a named origin inside the origin host's tree is
 * still that origin.
 */
import { ConfigError, parseOriginHost, parseOrigins } from '../commons/config.js';
import type { NamedOrigin } from '../commons/origins.js';

export interface OriginMatcher {
  readonly origins: readonly NamedOrigin[];
  /** `ORIGIN_HOST`'s base URL, when given. */
  readonly originHost?: string;
}

/** `--origins` / `--origin-host` are not valid: the message names the option and the entry. */
export class OriginOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OriginOptionError';
  }
}

/** The matcher the options describe, or undefined when neither was given (every URL keeps its path). */
export const originMatcher = (
  origins: string | undefined,
  originHost: string | undefined,
): OriginMatcher | undefined => {
  if (origins === undefined && originHost === undefined) return undefined;
  const option = (name: string, parse: () => unknown) => {
    try {
      return parse();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      throw new OriginOptionError(`${name}: ${error.message}`);
    }
  };
  return {
    origins: (option('--origins', () => parseOrigins(origins ?? '')) as readonly NamedOrigin[]) ?? [],
    ...(originHost === undefined
      ? {}
      : { originHost: option('--origin-host', () => parseOriginHost(originHost)) as string }),
  };
};

/** The URL without query or fragment, as a base URL is compared. */
const comparable = (url: URL): string => `${url.origin}${url.pathname}`;

/**
 * The path (percent-encoded, as in the URL, no leading slash) at which the
 * cache serves `url`, or undefined when `matcher` is given and no origin of
 * it matches.
 */
export const cachePathFor = (url: URL, matcher: OriginMatcher | undefined): string | undefined => {
  if (matcher === undefined) return url.pathname.replace(/^\/+/, '');
  const target = comparable(url);
  let best: { readonly base: string; readonly prefix: string } | undefined;
  const consider = (base: string, prefix: string) => {
    if (target.startsWith(`${base}/`) && (best === undefined || base.length > best.base.length)) {
      best = { base, prefix };
    }
  };
  for (const origin of matcher.origins) for (const base of origin.urls) consider(base, `${origin.name}/`);
  if (matcher.originHost !== undefined) consider(matcher.originHost, '');
  if (best === undefined) return undefined;
  return `${best.prefix}${target.slice(best.base.length + 1)}`;
};
