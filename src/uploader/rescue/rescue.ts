/**
 * Rescue from archives: a file the origin and its mirrors lost (404/410),
 * fetched from the first of `RESCUE_URLS` that serves bytes passing every
 * check an upload makes plus the exact size and SHA-256 the cache knows.
 * An archive is trusted for bytes only when they match; a file whose
 * checksum the cache does not know is never rescued. A failed rescue is
 * recorded (rescue-request.ts), so the handler says so and the next hour's
 * requests do not repeat it.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  type Expectation,
  type RescueRecord,
  readRescueRecord,
  recordStillAnswers,
  rescueRecordKey,
} from '../../commons/rescue-request.js';
import { ListingGuard } from '../listing-guard.js';
import { openOrigin } from '../origin-get.js';
import { DEFAULT_ORIGIN_IDLE_TIMEOUT_MS, storeServed } from '../store-served.js';
import { listingOf, type UploadDependencies, type UploadResult } from '../upload.js';
import { IncompleteDownloadError, OriginUnavailableError } from '../upload-errors.js';
import { type KnownFile, knownFile } from './known-file.js';
import { missingPlaceholders, rescueUrl } from './templates.js';

/** What one template gave. */
export interface RescueAttempt {
  readonly url: string;
  readonly result: string;
}

export type RescueResult =
  | (UploadResult & { readonly outcome: 'stored' | 'lost-race'; readonly knownFrom: string })
  | { readonly outcome: 'not-rescued'; readonly reason: string; readonly attempts: readonly RescueAttempt[] };

const triedAlready = (earlier: RescueRecord): RescueResult => ({
  outcome: 'not-rescued',
  reason: `tried at ${earlier.at}: ${earlier.reason}`,
  attempts: [],
});

const recordFailure = async (path: string, record: RescueRecord, deps: UploadDependencies) => {
  await deps.s3.send(
    new PutObjectCommand({
      Bucket: deps.config.bucketName,
      Key: rescueRecordKey(path),
      Body: JSON.stringify(record),
      ContentType: 'application/json',
    }),
  );
};

/** Why a template gave nothing: the archive answered (none, or other bytes), or could not be asked. */
interface ArchiveTrouble {
  readonly result: string;
  /** 5xx, unreachable, a broken body: asking again later may help. */
  readonly transient: boolean;
}

/** One template's try: the stored result, or what went wrong with it. */
const tryArchive = async (
  path: string,
  url: string,
  known: KnownFile,
  deps: UploadDependencies,
): Promise<UploadResult | ArchiveTrouble> => {
  const originRequest = new AbortController();
  let answer: Awaited<ReturnType<typeof openOrigin>>;
  try {
    answer = await openOrigin(url, originRequest, deps.originIdleTimeoutMs ?? DEFAULT_ORIGIN_IDLE_TIMEOUT_MS);
  } catch (error) {
    if (!(error instanceof OriginUnavailableError)) throw error;
    return { result: error.message, transient: true };
  }
  if (answer.kind === 'missing') return { result: `answered ${answer.status}`, transient: false };
  if (answer.kind === 'encoded') return { result: `sent Content-Encoding: ${answer.encoding}`, transient: false };
  const announced = answer.response.headers.get('content-length');
  if (known.size !== undefined && announced !== null && /^\d+$/.test(announced) && Number(announced) !== known.size) {
    // Other bytes for certain: refused before anything is read or stored.
    originRequest.abort();
    return {
      result: `refused: it announces ${announced} bytes where ${known.knownFrom} says ${known.size}`,
      transient: false,
    };
  }
  const listingGuard = new ListingGuard(Promise.resolve(listingOf(known, known.knownFrom)));
  const fileName = path.slice(path.lastIndexOf('/') + 1);
  let stored: UploadResult;
  try {
    stored = await storeServed(path, { origin: answer, originRequest, listingGuard, fileName }, deps);
  } catch (error) {
    // The archive's body broke off or stalled: as with its 5xx, the next template's turn.
    if (!(error instanceof IncompleteDownloadError)) throw error;
    return { result: `the body broke off: ${error.message}`, transient: true };
  }
  return stored.outcome === 'corrupt' ? { result: `refused: ${stored.reason ?? 'corrupt'}`, transient: false } : stored;
};

/**
 * Tries each of `RESCUE_URLS` in order for `path`, which the origin lost.
 * S3 errors throw (Lambda's retry); an archive that fails is the next
 * template's turn.
 */
export const rescueFromArchives = async (
  path: string,
  expected: Expectation | undefined,
  deps: UploadDependencies,
): Promise<RescueResult> => {
  const earlier = await readRescueRecord(deps.s3, { bucket: deps.config.bucketName, path });
  // The request's bytes were looked for within the hour: no snapshot need be read to say so.
  if (recordStillAnswers(earlier, expected, Date.now())) return triedAlready(earlier);
  const known = await knownFile(path, expected, {
    s3: deps.s3,
    bucket: deps.config.bucketName,
    signal: AbortSignal.timeout(60_000),
  });
  // A snapshot's bytes, looked for within the hour, whatever other bytes this request names (the snapshot wins).
  if (known !== undefined && recordStillAnswers(earlier, { sha256: known.sha256 }, Date.now())) {
    return triedAlready(earlier);
  }
  const attempts: RescueAttempt[] = [];
  let troubled = false;
  const fail = async (reason: string): Promise<RescueResult> => {
    const record = {
      outcome: 'failed',
      at: new Date().toISOString(),
      reason,
      ...(known === undefined
        ? {}
        : { sha256: known.sha256, ...(known.fromSnapshot ? { fromSnapshot: true as const } : {}) }),
      ...(troubled ? { transient: true as const } : {}),
    } as const;
    await recordFailure(path, record, deps);
    return { outcome: 'not-rescued', reason, attempts };
  };
  if (known === undefined) {
    return fail('the cache knows no checksum for this file (no snapshot lists it, the request named none)');
  }
  for (const template of deps.config.rescueTemplates) {
    const url = rescueUrl(template, known.facts);
    if (url === undefined) {
      const missing = missingPlaceholders(template, known.facts).join(' ');
      const hint = missing.includes('{source_') ? " (a lockfile entry's sourcerpm gives it)" : '';
      attempts.push({ url: template, result: `needs ${missing}, which the cache does not know${hint}` });
      continue;
    }
    const tried = await tryArchive(path, url, known, deps);
    if ('outcome' in tried && (tried.outcome === 'stored' || tried.outcome === 'lost-race')) {
      return { ...tried, outcome: tried.outcome, knownFrom: known.knownFrom };
    }
    if ('transient' in tried) troubled ||= tried.transient;
    attempts.push({ url, result: 'result' in tried ? tried.result : tried.outcome });
  }
  const summary = attempts.map(({ url, result }) => `${url}: ${result}`).join('; ');
  return fail(`no archive had sha256 ${known.sha256} (known from ${known.knownFrom}): ${summary}`);
};
