/**
 * The query string a client sent, as it goes on to the origin: a `?countme=1`
 * or a mirror's token reaches the origin as sent. The cache's own parameter
 * (`rpm-cache=stored`) is the cache's, and stays here.
 */

/** The cache's own query parameter. */
export const CACHE_PARAMETER = 'rpm-cache';

/** A byte outside printable ASCII, percent-encoded (UTF-8), so the query is safe in a Location header. */
const encodeUnsafe = (character: string): string =>
  [...Buffer.from(character, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('');

/**
 * The query to forward, from the event's raw query string: undefined when
 * there is none. Parameters other than the cache's keep their order and
 * spelling; anything that is not printable ASCII is percent-encoded.
 */
export const forwardedQuery = (rawQueryString: string | undefined): string | undefined => {
  if (rawQueryString === undefined || rawQueryString === '') return undefined;
  const kept = rawQueryString
    .split('&')
    .filter((parameter) => parameter.split('=', 1)[0] !== CACHE_PARAMETER)
    .join('&')
    .replace(/[^\x21-\x7e]/gu, encodeUnsafe);
  return kept === '' ? undefined : kept;
};
