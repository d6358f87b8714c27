/**
 * Readable log lines for a person watching `npm start` in a terminal: one
 * line per event (time, outcome, path, where it went, what the origin said
 * and how long it took, upload results) instead of indented JSON repeating
 * the Lambda context. Lambda itself always writes JSON; so does the local
 * stack when its output is not a terminal or LOG_FORMAT=json.
 */
import type { Writable } from 'node:stream';

type LogLine = Record<string, unknown>;

const text = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

const clock = (timestamp: unknown): string => {
  const date = typeof timestamp === 'string' ? new Date(timestamp) : new Date();
  return Number.isNaN(date.getTime()) ? '--:--:--' : date.toTimeString().slice(0, 8);
};

const errorText = (error: unknown): string | undefined => {
  if (typeof error !== 'object' || error === null) return error === undefined ? undefined : text(error);
  const { name, message } = error as { name?: unknown; message?: unknown };
  return [name, message].filter((part) => typeof part === 'string' && part !== '').join(': ');
};

/** The fields a line's own layout already shows, or that repeat on every line. */
const SHOWN = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'sampling_rate',
  'xray_trace_id',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
  'function_request_id',
  'outcome',
  'path',
  'location',
  'originStatus',
  'originHeadMs',
  'durationMs',
  'bytes',
  'error',
  'reason',
  'uncachedReason',
  'cached',
  'uploadTriggered',
]);

/** One readable line for one JSON log entry. */
export const formatLogLine = (line: LogLine): string => {
  const parts = [clock(line.timestamp)];
  const level = text(line.level ?? 'INFO');
  if (level !== 'INFO') parts.push(level);
  const outcome = line.outcome === undefined ? undefined : text(line.outcome);
  if (line.message === 'request') {
    parts.push((outcome ?? '?').padEnd(11), text(line.path));
    if (line.location !== undefined) parts.push(`-> ${text(line.location)}`);
    const origin = line.originStatus === undefined ? undefined : `origin ${text(line.originStatus)}`;
    const originMs = line.originHeadMs === undefined ? undefined : `${text(line.originHeadMs)} ms`;
    if (origin !== undefined) parts.push(`(${[origin, originMs].filter(Boolean).join(', ')})`);
    if (line.uploadTriggered === true) parts.push('upload triggered');
    if (line.durationMs !== undefined) parts.push(`in ${text(line.durationMs)} ms`);
  } else if (line.message === 'upload') {
    parts.push(`upload ${outcome ?? '?'}`.padEnd(11), text(line.path));
    if (line.bytes !== undefined) parts.push(`${text(line.bytes)} bytes`);
    if (line.durationMs !== undefined) parts.push(`in ${text(line.durationMs)} ms`);
  } else {
    parts.push(text(line.message));
  }
  const why = [line.reason, line.uncachedReason, errorText(line.error)].filter((value) => value !== undefined);
  if (why.length > 0) parts.push(`: ${why.map(text).join('; ')}`);
  const extra = Object.entries(line)
    .filter(([key]) => !SHOWN.has(key))
    .map(([key, value]) => `${key}=${text(value)}`);
  if (extra.length > 0) parts.push(`[${extra.join(' ')}]`);
  return parts.join(' ');
};

/**
 * Rewrites the JSON lines written to `stream` as readable lines; anything else
 * (the start line, partial writes) passes through. Metric documents (`_aws`)
 * are for CloudWatch, not for a person: left out.
 */
export const readableLogs = (stream: Writable): void => {
  const write = stream.write.bind(stream) as (chunk: string) => boolean;
  let pending = '';
  const rewritten = (chunk: unknown): boolean => {
    pending += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    const out: string[] = [];
    for (const line of lines) {
      if (!line.startsWith('{')) {
        out.push(line);
        continue;
      }
      try {
        const parsed = JSON.parse(line) as LogLine;
        if (!('_aws' in parsed)) out.push(formatLogLine(parsed));
      } catch {
        out.push(line);
      }
    }
    return out.length === 0 ? true : write(`${out.join('\n')}\n`);
  };
  stream.write = rewritten as typeof stream.write;
};

/**
 * Readable lines on every one of `streams` that is a terminal, unless
 * LOG_FORMAT=json: Powertools writes INFO to stdout but WARN and ERROR (a 400,
 * a fallback) to stderr, and both reach the person at the terminal.
 */
export const readableOnTerminals = (
  env: Readonly<Record<string, string | undefined>>,
  ...streams: (Writable & { isTTY?: boolean })[]
): void => {
  if (env.LOG_FORMAT?.trim().toLowerCase() === 'json') return;
  for (const stream of streams) if (stream.isTTY === true) readableLogs(stream);
};
