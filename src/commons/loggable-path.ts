/**
 * A request path as a log line shows it: hostile paths can be megabytes long.
 */

/** Long hostile paths stay readable in logs. */
export const MAX_LOGGED_PATH_LENGTH = 2048;
export const loggablePath = (path: unknown): unknown =>
  typeof path === 'string' && path.length > MAX_LOGGED_PATH_LENGTH
    ? `${path.slice(0, MAX_LOGGED_PATH_LENGTH)}...(${path.length} chars)`
    : path;
