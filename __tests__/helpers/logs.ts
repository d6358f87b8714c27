import { jest } from '@jest/globals';

export type LogLine = Record<string, unknown>;

/** One CloudWatch embedded-metric-format document as Powertools Metrics writes it. */
export interface EmfLine {
  readonly _aws: {
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string; readonly Unit: string }[];
    }[];
  };
  readonly [key: string]: unknown;
}

/**
 * Captures what the Powertools logger writes (JSON lines on stdout/stderr)
 * and keeps it off the test output. Returns the parsed lines and the raw text.
 */
export const captureLogs = () => {
  const raw: string[] = [];
  const capture = (chunk: unknown): boolean => {
    raw.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return true;
  };
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(capture);
  const jsonLines = (): LogLine[] =>
    raw
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogLine);
  return {
    /** Log lines; the metrics (embedded metric format, key `_aws`) are kept apart. */
    lines: () => jsonLines().filter((line) => !('_aws' in line)),
    /** The lines with this `message`: `request` (handler) or `upload` (uploader). */
    linesOf: (message: string) => jsonLines().filter((line) => !('_aws' in line) && line.message === message),
    metrics: () => jsonLines().filter((line) => '_aws' in line) as EmfLine[],
    text: () => raw.join(''),
    clear: () => {
      raw.length = 0;
    },
    restore: () => {
      stdout.mockRestore();
      stderr.mockRestore();
    },
  };
};
