/**
 * Several origins in one deployment (`ORIGINS`): which origin a request path
 * goes to, and at which URLs (the first, then its mirrors in order).
 *
 * A path whose first segment names an origin (`epel/9/Everything/x86_64/...`)
 * goes to that origin with the name taken off; every other path goes to
 * `ORIGIN_HOST` whole, as it always has. The cache key is `cache/<path>` either
 * way, so the named origin's files live under `cache/<name>/`, snapshots under
 * `snapshots/.../<name>/`, and a deployment with `ORIGIN_HOST` alone stores
 * exactly what it stored before.
 */
import { DEFAULT_ORIGIN_NAME, type NamedOrigin } from './config.js';
import { cacheKeyProblem, checkPath, originUrl } from './paths.js';

export type { NamedOrigin };

/** What routing needs of the configuration. */
export interface OriginsConfig {
  /** `ORIGIN_HOST`'s base URL: every path whose first segment names no origin. */
  readonly originBaseUrl: string;
  readonly origins: readonly NamedOrigin[];
}

/** Where one request path goes. */
export interface OriginRoute {
  /** The origin's name, or `default` for `ORIGIN_HOST` (logs and metrics). */
  readonly origin: string;
  /** The file's URLs: at the first base URL, then at each mirror. */
  readonly urls: readonly [string, ...string[]];
}

/** The origin and URLs of a valid path (see `checkPath`). */
export const originRoute = ({ originBaseUrl, origins }: OriginsConfig, path: string): OriginRoute => {
  const slash = path.indexOf('/');
  const first = slash < 0 ? path : path.slice(0, slash);
  const named = origins.find((origin) => origin.name === first);
  if (named === undefined) return { origin: DEFAULT_ORIGIN_NAME, urls: [originUrl(originBaseUrl, path)] };
  const rest = slash < 0 ? '' : path.slice(slash + 1);
  const [primary, ...mirrors] = named.urls;
  return {
    origin: named.name,
    urls: [originUrl(primary, rest), ...mirrors.map((mirror) => originUrl(mirror, rest))],
  };
};

/**
 * Where a named origin's file was cached before `ORIGINS` named it: when one
 * of the origin's URLs (the first, else the first mirror that does) lies under
 * `ORIGIN_HOST`, the same file was asked for as `<that URL's path below
 * ORIGIN_HOST>/<rest>` and cached under that path. Undefined for every other
 * path (so a deployment that never had the overlap costs nothing), and when
 * that path's first segment is itself a name: its key is then that origin's,
 * and may hold another origin's file.
 */
export const pathBeforeOrigins = ({ originBaseUrl, origins }: OriginsConfig, path: string): string | undefined => {
  const slash = path.indexOf('/');
  if (slash < 0) return undefined;
  const named = origins.find((origin) => origin.name === path.slice(0, slash));
  const under = named?.urls.find((url) => url.startsWith(`${originBaseUrl}/`));
  if (under === undefined) return undefined;
  // Below ORIGIN_HOST's own base path (it may have one), as the default route joins them;
  // base URLs are percent-encoded, request paths, and so cache keys, are decoded.
  let base: string;
  try {
    base = decodeURIComponent(under.slice(originBaseUrl.length + 1));
  } catch {
    return undefined;
  }
  const before = `${base}/${path.slice(slash + 1)}`;
  // A path the default route could never have cached has no old key to look for.
  if (!checkPath(before).valid || cacheKeyProblem(before) !== undefined) return undefined;
  const first = before.slice(0, before.indexOf('/'));
  return origins.some((origin) => origin.name === first) ? undefined : before;
};

/** A URL's path below a base URL, decoded once, or undefined when the URL is not under it or cannot be decoded. */
const decodedBelow = (baseUrl: string, url: string): string | undefined => {
  if (!url.startsWith(`${baseUrl}/`) || url.includes('?') || url.includes('#')) return undefined;
  try {
    return decodeURIComponent(url.slice(baseUrl.length + 1));
  } catch {
    return undefined;
  }
};

/**
 * The inverse of {@link originRoute}, for a URL another service names (a
 * metalink's mirror): the cache path whose route includes `url`, found by
 * which configured base URL is a prefix of it: a named origin's first URL or
 * one of its mirrors (the path is then `<name>/<rest>`), else `ORIGIN_HOST`
 * (the path is `<rest>`, unless its first segment names an origin: that path
 * would go elsewhere). Undefined when no base URL is a prefix, or the rest is
 * not a path the cache can key.
 *
 * @example
 * cachePathOfUrl({ originBaseUrl: 'https://dl.fedoraproject.org', origins: [] },
 *   'https://dl.fedoraproject.org/pub/fedora/linux/updates/44/Everything/x86_64/repodata/repomd.xml')
 * // 'pub/fedora/linux/updates/44/Everything/x86_64/repodata/repomd.xml'
 */
export const cachePathOfUrl = (config: OriginsConfig, url: string): string | undefined => {
  const keyable = (path: string | undefined): string | undefined =>
    path !== undefined && checkPath(path).valid && cacheKeyProblem(path) === undefined ? path : undefined;
  for (const origin of config.origins) {
    for (const base of origin.urls) {
      const rest = keyable(decodedBelow(base, url));
      if (rest !== undefined) return `${origin.name}/${rest}`;
    }
  }
  const path = keyable(decodedBelow(config.originBaseUrl, url));
  if (path === undefined) return undefined;
  return originRoute(config, path).origin === DEFAULT_ORIGIN_NAME ? path : undefined;
};
