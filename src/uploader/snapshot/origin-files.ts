/**
 * The small files of a repository version, fetched whole from the origin:
 * repomd.xml and its companions (`.asc`, `.key`, `media.1/media`).
 */
import { createHash } from 'node:crypto';
import { type OriginValidators, validatorsOf } from '../../commons/repodata.js';
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

/** repomd.xml is missing only when the origin says it is gone; an optional companion on any 4xx. */
export const REPOMD_MISSING = (status: number): boolean => status === 404 || status === 410;
export const COMPANION_MISSING = (status: number): boolean => status >= 400 && status < 500;

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
