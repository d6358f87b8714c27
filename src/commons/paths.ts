/**
 * The request path is the only input rpm-cache trusts nothing about: it names
 * the origin URL, the S3 key and the redirect target. These functions decide
 * which paths are served and build every URL and key from a path.
 *
 * The path arrives already URL-decoded once (API Gateway does it), so it holds
 * the real file name (`libstdc++`, `1.0^20260101git`, `2.0~rc1`); it is never
 * decoded again here, and it is encoded exactly once when an URL is built.
 */

/** S3 object keys are at most 1024 bytes of UTF-8. */
export const MAX_KEY_BYTES = 1024;
export const CACHE_KEY_PREFIX = 'cache/';

export type PathCheck =
  | { readonly valid: true; readonly path: string }
  | { readonly valid: false; readonly reason: string };

// Control characters (CR/LF would inject headers, NUL truncates in some stores).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Checks a decoded request path. Valid paths are relative, made of non-empty
 * segments that are not `.` or `..`, well-formed Unicode without control
 * characters or backslashes, and short enough to be an S3 key under `cache/`.
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
  if (path.includes('\\')) {
    return { valid: false, reason: 'path contains a backslash' };
  }
  const segments = path.split('/');
  if (segments.some((segment) => segment === '')) {
    return { valid: false, reason: 'path has an empty segment (leading, trailing or double slash)' };
  }
  if (segments.some((segment) => segment === '.' || segment === '..')) {
    return { valid: false, reason: 'path has a "." or ".." segment' };
  }
  if (Buffer.byteLength(cacheKey(path), 'utf8') > MAX_KEY_BYTES) {
    return { valid: false, reason: `path is too long (cache keys are at most ${MAX_KEY_BYTES} bytes)` };
  }
  return { valid: true, path };
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
 * The origin URL of a valid path. Every segment is encoded, so nothing in the
 * path can change the host, add a query or leave the origin's base path.
 */
export const originUrl = (originBaseUrl: string, path: string): string =>
  `${originBaseUrl}/${path.split('/').map(encodePathSegment).join('/')}`;
