/**
 * The length check every cached file gets: the bytes that pass are counted
 * against what the origin announced, and a body that stalls fails.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { IncompleteDownloadError } from './upload-errors.js';

/**
 * Counts the bytes that pass and fails the stream at its end when they differ
 * from the announced length, or when no byte arrives for `idleTimeoutMs`.
 */
export class LengthGuard extends Transform {
  bytes = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly expectedBytes: number | undefined,
    private readonly idleTimeoutMs: number,
  ) {
    super();
    this.armIdleTimer();
  }

  private armIdleTimer(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.destroy(
        new IncompleteDownloadError(`origin sent nothing for ${this.idleTimeoutMs} ms after ${this.bytes} bytes`),
      );
    }, this.idleTimeoutMs);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.expectedBytes !== undefined && this.bytes > this.expectedBytes) {
      callback(new IncompleteDownloadError(`origin sent more than the announced ${this.expectedBytes} bytes`));
      return;
    }
    this.armIdleTimer();
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    clearTimeout(this.idleTimer);
    if (this.expectedBytes !== undefined && this.bytes !== this.expectedBytes) {
      callback(new IncompleteDownloadError(`origin sent ${this.bytes} of the announced ${this.expectedBytes} bytes`));
      return;
    }
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.idleTimer);
    callback(error);
  }
}

export const parseContentLength = (value: string | null): number | undefined => {
  if (value === null || !/^\d+$/.test(value)) return undefined;
  return Number(value);
};
