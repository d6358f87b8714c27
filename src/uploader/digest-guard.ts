/**
 * The check a repository metadata file gets while it streams: the size and
 * checksum its repomd.xml gives, exactly what librepo and zypper check.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/** The bytes are not the file repomd.xml describes (a mirror mid-sync, or a damaged file). */
export class DigestMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DigestMismatchError';
  }
}

export interface ExpectedFile {
  readonly algorithm: string;
  readonly checksum: string;
  readonly size?: number;
}

/**
 * Passes the bytes through, failing as soon as they exceed the expected size,
 * and at the end when the size or the digest differ.
 */
export class DigestGuard extends Transform {
  private readonly hash: Hash;
  private bytes = 0;

  constructor(private readonly expected: ExpectedFile) {
    super();
    this.hash = createHash(expected.algorithm);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.expected.size !== undefined && this.bytes > this.expected.size) {
      callback(new DigestMismatchError(`more than the ${this.expected.size} bytes repomd.xml gives`));
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.expected.size !== undefined && this.bytes !== this.expected.size) {
      callback(new DigestMismatchError(`${this.bytes} bytes where repomd.xml gives ${this.expected.size}`));
      return;
    }
    const digest = this.hash.digest('hex');
    if (digest !== this.expected.checksum) {
      callback(
        new DigestMismatchError(
          `${this.expected.algorithm} ${digest} where repomd.xml gives ${this.expected.checksum}`,
        ),
      );
      return;
    }
    callback();
  }
}
