/**
 * `--verify`: downloads a package's stored copy through the cache (asked for
 * with `?rpm-cache=stored`, so it is the cache's copy even while the origin
 * serves the file), following its redirect, streaming it through SHA-256, and
 * compares size and digest with the lockfile.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { LockedPackage } from './lockfile.js';

/** The cache URL of a package's stored copy. */
export const storedCopyUrl = (url: string): string => `${url}?rpm-cache=stored`;

/** Resolves to why the stored copy does not match the lockfile, or undefined when it does. */
export const verifyDownload = async (
  url: string,
  pkg: LockedPackage,
  signal: AbortSignal,
  fetchImpl: typeof fetch = fetch,
): Promise<string | undefined> => {
  let response: Response;
  try {
    // identity: the bytes hashed must be the bytes a client stores.
    response = await fetchImpl(storedCopyUrl(url), {
      redirect: 'follow',
      signal,
      headers: { 'accept-encoding': 'identity' },
    });
  } catch (error) {
    return `download failed: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (response.status !== 200 || response.body === null) {
    await response.body?.cancel();
    if (response.status === 404 && response.headers.get('x-cache') !== null) return 'the cache holds no stored copy';
    return `download answered HTTP ${response.status}`;
  }
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    for await (const chunk of Readable.fromWeb(response.body as WebReadableStream<Uint8Array>)) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
  } catch (error) {
    return `download broke off after ${bytes} bytes: ${error instanceof Error ? error.message : String(error)}`;
  }
  const sha256 = hash.digest('hex');
  const problems: string[] = [];
  if (pkg.size !== undefined && pkg.size !== bytes) problems.push(`size: lockfile ${pkg.size}, downloaded ${bytes}`);
  if (pkg.sha256 !== undefined && pkg.sha256 !== sha256) {
    problems.push(`sha256: lockfile ${pkg.sha256}, downloaded ${sha256}`);
  }
  return problems.length === 0 ? undefined : `mismatch: ${problems.join('; ')}`;
};
