/**
 * The request path is the only input rpm-cache trusts nothing about: it names
 * the origin URL, the S3 key and the redirect target. These functions decide
 * which paths are served and build every URL and key from a path.
 *
 * The path arrives already URL-decoded once (API Gateway does it), so it holds
 * the real file name (`libstdc++`, `1.0^20260101git`, `2.0~rc1`); it is never
 * decoded again here, and it is encoded exactly once when an URL is built.
 */
import { createHash } from 'node:crypto';

/** S3 object keys are at most 1024 bytes of UTF-8. */
export const MAX_KEY_BYTES = 1024;
export const CACHE_KEY_PREFIX = 'cache/';

/**
 * Where a record about `path` is kept beside the cache (`rescues`,
 * `refusals`): `<folder>/<path>.json`, or for a path whose cache key fits
 * S3's 1,024 bytes but whose record key would not,
 * `<folder>/long/<SHA-256 of the path>.json` (no cacheable path is
 * `long/<hex>`: its name would end with a CACHE_EXTENSIONS suffix, which
 * starts with a dot).
 */
export const recordKey = (folder: string, path: string): string => {
  const key = `${folder}/${path}.json`;
  return Buffer.byteLength(key, 'utf8') <= MAX_KEY_BYTES
    ? key
    : `${folder}/long/${createHash('sha256').update(path, 'utf8').digest('hex')}.json`;
};

export type PathCheck =
  | { readonly valid: true; readonly path: string }
  | { readonly valid: false; readonly reason: string };

// Control characters (CR/LF would inject headers, NUL truncates in some stores).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Checks a decoded request path: the only paths refused (400) are the ones
 * that cannot be put in a URL or a header safely: missing, not well-formed
 * Unicode, or holding control characters. Every other path can be expressed
 * as an origin URL (see {@link originUrl}) and is answered with a redirect.
 */
export const checkPath = (path: unknown): PathCheck => {
  if (typeof path !== 'string' || path === '') {
    return { valid: false, reason: 'missing path' };
  }
  if (!path.isWellFormed()) {
    return { valid: false, reason: 'path is not valid Unicode' };
  }
  if (CONTROL_CHARACTERS.test(path)) {
    return { valid: false, reason: 'path contains control characters' };
  }
  return { valid: true, path };
};

/**
 * Why a valid path cannot be a cache key, or undefined when it can: a key is
 * the path itself under `cache/`, so it must name one file unambiguously
 * (no empty, `.` or `..` segment, no backslash, which some clients read as a
 * slash) and fit in an S3 key. Such a path still goes to origin, uncached.
 */
export const cacheKeyProblem = (path: string): string | undefined => {
  const segments = path.split('/');
  if (segments.some((segment) => segment === '')) {
    return 'path has an empty segment (leading, trailing or double slash)';
  }
  if (segments.some((segment) => segment === '.' || segment === '..')) {
    return 'path has a "." or ".." segment';
  }
  if (path.includes('\\')) {
    return 'path contains a backslash';
  }
  if (Buffer.byteLength(cacheKey(path), 'utf8') > MAX_KEY_BYTES) {
    return `path is too long for a cache key (at most ${MAX_KEY_BYTES} bytes)`;
  }
  return undefined;
};

/** The S3 key of a path's cached copy: the decoded path under `cache/`. */
export const cacheKey = (path: string): string => `${CACHE_KEY_PREFIX}${path}`;

/** Whether a path names a file the cache keeps (suffix match, case-sensitive). */
export const isCacheable = (path: string, extensions: readonly string[]): boolean =>
  extensions.some((extension) => path.endsWith(extension));

// Characters RFC 3986 allows literally in a path segment; keeping them makes
// Location headers read like the Fedora URLs they mirror (`libstdc++`).
const SEGMENT_SAFE_ESCAPES = /%(2B|3A|40|21|24|26|27|28|29|2A|2C|3B|3D)/g;

/** Percent-encodes one decoded path segment, once. */
export const encodePathSegment = (segment: string): string =>
  encodeURIComponent(segment).replace(SEGMENT_SAFE_ESCAPES, (safeEscape) => decodeURIComponent(safeEscape));

/**
 * Resolves `.` and `..` segments as a URL parser would, but never above the
 * path's root: a client following the redirect resolves them too, and
 * resolved here they cannot climb out of the origin's base path.
 */
const resolveDotSegments = (segments: readonly string[]): string[] => {
  const resolved: string[] = [];
  for (const [index, segment] of segments.entries()) {
    const last = index === segments.length - 1;
    if (segment === '.' || segment === '..') {
      if (segment === '..') resolved.pop();
      // `a/b/..` names the directory `a/`, as in a URL.
      if (last) resolved.push('');
      continue;
    }
    resolved.push(segment);
  }
  return resolved;
};

/**
 * The origin URL of a valid path. Dot segments are resolved within the path
 * and every segment is encoded, so nothing in the path can change the host,
 * add a query or leave the origin's base path.
 */
export const originUrl = (originBaseUrl: string, path: string): string =>
  `${originBaseUrl}/${resolveDotSegments(path.split('/')).map(encodePathSegment).join('/')}`;

/** Why the uploader would reject `path` (a 400's reason, or why it cannot be a key), or undefined. */
export const uploadPathProblem = (path: string): string | undefined => {
  const check = checkPath(path);
  return check.valid ? cacheKeyProblem(path) : check.reason;
};
