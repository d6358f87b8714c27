/**
 * The small files of a repository version, fetched whole from the origin:
 * repomd.xml and its companions (`.asc`, `.key`, `media.1/media`).
 */
import { createHash } from 'node:crypto';
import { type OriginValidators, REPOMD_COMPANIONS, validatorsOf } from '../../commons/repodata.js';
import { openOrigin } from '../origin-get.js';
import { IncompleteDownloadError } from '../upload-errors.js';
import { SnapshotIncompleteError } from './outcome.js';

/** repomd.xml of Fedora's largest repositories is ~10 KB; anything near this is not one. */
export const MAX_REPOMD_BYTES = 1024 * 1024;
/** A detached signature or an armored public key. */
export const MAX_COMPANION_BYTES = 256 * 1024;

export type SmallFile =
  | { readonly kind: 'missing'; readonly status: number }
  | {
      readonly kind: 'file';
      readonly bytes: Buffer;
      /** SHA-256 of the bytes, hex. */
      readonly sha256: string;
      readonly status: number;
      readonly validators: OriginValidators;
    };

export type FetchedFile = Extract<SmallFile, { kind: 'file' }>;

/** repomd.xml is missing only when the origin says it is gone. */
export const REPOMD_MISSING = (status: number): boolean => status === 404 || status === 410;
/**
 * An optional companion is missing on any 4xx (S3 buckets without list rights,
 * and CDNs in front of them, answer 403 for a missing key), except the two
 * that say "not now": 408 and 429 are retried, never recorded as absent.
 */
export const COMPANION_MISSING = (status: number): boolean =>
  status >= 400 && status < 500 && status !== 408 && status !== 429;

/**
 * GETs a small origin file whole, refusing more than `maxBytes` (a
 * SnapshotIncompleteError). `isMissing` says which statuses mean "no such
 * file"; any other failure throws OriginUnavailableError, for Lambda's retry.
 */
export const fetchSmall = async (
  url: string,
  {
    maxBytes,
    idleTimeoutMs,
    isMissing,
  }: { maxBytes: number; idleTimeoutMs: number; isMissing: (status: number) => boolean },
): Promise<SmallFile> => {
  const request = new AbortController();
  const answer = await openOrigin(url, request, idleTimeoutMs, isMissing);
  if (answer.kind === 'missing') return answer;
  if (answer.kind === 'encoded')
    throw new SnapshotIncompleteError(`${url}: origin sent Content-Encoding ${answer.encoding}`);
  const chunks: Buffer[] = [];
  let size = 0;
  const idle = setTimeout(() => request.abort(), idleTimeoutMs);
  try {
    for await (const chunk of answer.response.body) {
      size += chunk.byteLength;
      if (size > maxBytes) {
        request.abort();
        throw new SnapshotIncompleteError(`${url} is larger than ${maxBytes} bytes`);
      }
      chunks.push(Buffer.from(chunk));
      idle.refresh();
    }
  } catch (error) {
    if (error instanceof SnapshotIncompleteError) throw error;
    throw new IncompleteDownloadError(`origin body of ${url} failed after ${size} bytes`, { cause: error });
  } finally {
    clearTimeout(idle);
  }
  const bytes = Buffer.concat(chunks);
  return {
    kind: 'file',
    bytes,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    status: answer.response.status,
    validators: validatorsOf(answer.response.headers),
  };
};

/**
 * The companions of a repomd.xml (`.asc`, `.key`, `media.1/media`), all at
 * once: each fetched, or absent (COMPANION_MISSING). `urlOf` gives a path's
 * origin URL.
 */
export const fetchCompanions = async (urlOf: (path: string) => string, repoDir: string, idleTimeoutMs: number) => {
  const fetched = await Promise.all(
    REPOMD_COMPANIONS.map((companion) =>
      fetchSmall(urlOf(`${repoDir}${companion}`), {
        maxBytes: MAX_COMPANION_BYTES,
        idleTimeoutMs,
        isMissing: COMPANION_MISSING,
      }),
    ),
  );
  const companions = new Map<string, FetchedFile>();
  const absent: string[] = [];
  REPOMD_COMPANIONS.forEach((companion, index) => {
    const file = fetched[index];
    if (file === undefined || file.kind === 'missing') absent.push(companion);
    else companions.set(companion, file);
  });
  return { companions, absent };
};
