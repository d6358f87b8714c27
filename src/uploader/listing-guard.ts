/**
 * The check an RPM gets against its repository's snapshot while it streams:
 * the SHA-256 and size that the snapshot's primary.xml lists for it, which is
 * what dnf checks. The listing is looked up while the RPM downloads; the end of
 * the stream waits for it, so a mismatch is refused before anything is stored.
 */
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { RepositoryListing } from './repository-listing.js';
import { RpmVerificationError } from './rpm-verifier.js';

/** What the uploader reports about the check. */
export type RepositoryCheck =
  | { readonly result: 'matched' | 'not-listed'; readonly repository: string; readonly snapshot: string }
  | { readonly result: 'no-snapshot' }
  | {
      readonly result: 'not-checked';
      readonly repository: string;
      readonly snapshot: string;
      readonly reason: string;
    };

/**
 * Passes the bytes through, hashing them with SHA-256 (createrepo_c's
 * checksum, and Fedora's, EPEL's and CentOS Stream's); at the end, fails with
 * an RpmVerificationError when the listing's size or checksum differ.
 */
export class ListingGuard extends Transform {
  private readonly hash = createHash('sha256');
  private bytes = 0;
  private outcome: RepositoryCheck | undefined;

  constructor(private readonly listing: Promise<RepositoryListing>) {
    super();
  }

  /** How the check went, once the stream has ended. */
  get check(): RepositoryCheck | undefined {
    return this.outcome;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.listing.then(
      (listing) => callback(this.judge(listing)),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
  }

  private judge(listing: RepositoryListing): Error | null {
    if (listing.result !== 'listed') {
      this.outcome = listing.result === 'unreadable' ? { ...listing, result: 'not-checked' } : listing;
      return null;
    }
    const { repository, snapshot, entry } = listing;
    const where = listing.listedBy ?? `the primary.xml of snapshot ${snapshot.slice(0, 12)} of ${repository || '/'}`;
    if (entry.algorithm !== 'sha256') {
      this.outcome = { result: 'not-checked', repository, snapshot, reason: `${where} lists a ${entry.algorithm}` };
      return null;
    }
    if (entry.size !== undefined && entry.size !== this.bytes) {
      return new RpmVerificationError(`${this.bytes} bytes where ${where} lists ${entry.size}`);
    }
    const digest = this.hash.digest('hex');
    if (digest !== entry.checksum) {
      return new RpmVerificationError(`sha256 ${digest} where ${where} lists ${entry.checksum}`);
    }
    this.outcome = { result: 'matched', repository, snapshot };
    return null;
  }
}
