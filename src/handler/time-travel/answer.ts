/**
 * The answers under `/@`: repository metadata as it was at a time, from the
 * snapshot current then (a 302 to its stored copy, `X-Cache-Snapshot` naming
 * the snapshot's time), the listing of a repository's snapshots, or a 404 or
 * 400 that says why. Everything else under `/@<time>/` (RPMs) is answered as
 * the same path without the time (see handler.ts).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { CacheConfig } from '../../commons/config.js';
import { type RepodataPath, repomdPath } from '../../commons/repodata.js';
import { type ClientMethod, presignedUrl } from '../presign.js';
import { listingHtml, listingJson, listSnapshots } from './listing.js';
import { findSnapshotAt, type HistoricSnapshot } from './snapshot-at.js';
import type { TravelPath } from './travel-path.js';

/** What a time-travel answer was, in the logs and the `TimeTravelAnswers` metric. */
export type TimeTravelOutcome =
  | 'served'
  | 'not-in-snapshot'
  | 'before-history'
  | 'future'
  | 'malformed'
  | 'no-history'
  | 'listed'
  | 'passed-through';

export interface TimeTravelDependencies {
  readonly config: Pick<CacheConfig, 'bucketName' | 'snapshotHistoryDays' | 'presignedUrlExpirationSeconds'>;
  readonly s3: S3Client;
  readonly now?: () => number;
}

export interface TimeTravelRequest {
  readonly method: ClientMethod;
  /** The client's `Accept` header: a listing is JSON when it names application/json. */
  readonly accept: string | undefined;
}

export interface TimeTravelAnswer {
  readonly outcome: TimeTravelOutcome;
  readonly response: APIGatewayProxyStructuredResultV2;
  /** What the log line says beside the outcome. */
  readonly facts: Readonly<Record<string, string | number>>;
}

/**
 * A lookup is two S3 round trips (tens of ms): a client waits at most this
 * long for S3 before the 503 that tells it to try again.
 */
const LOOKUP_DEADLINE_MS = 3000;
/** A listing reads a page per 1,000 snapshots: still far less than API Gateway's 30 s. */
const LISTING_DEADLINE_MS = 10_000;

/** How recent a time is still answered as the future: a commit in flight, and the clocks of two Lambdas. */
export const SETTLING_MS = 10_000;

const NO_STORE = { 'Cache-Control': 'no-store' };

const text = (statusCode: number, body: string, headers: Record<string, string> = {}) => ({
  statusCode,
  headers: { 'Content-Type': 'text/plain; charset=utf-8', ...NO_STORE, ...headers },
  body: `${body}\n`,
});

const noHistory = (repoDir: string) =>
  text(
    404,
    `Not Found: the cache holds no snapshot of ${repoDir || 'this repository'}. A snapshot is taken when a client ` +
      `asks the cache for ${repomdPath(repoDir)} (without /@.../), or on the schedule of SNAPSHOT_REPOSITORIES.`,
  );

/** A 400 for a path under `/@` that is not a time-travel request, showing the form expected. */
export const malformedAnswer = (reason: string): TimeTravelAnswer => ({
  outcome: 'malformed',
  response: text(400, `Bad Request: ${reason}`),
  facts: { reason },
});

/**
 * The snapshot of the repository in `repoDir` current at `time`, or the
 * answer that says why there is none: `time` in the future (or the last
 * seconds), before the history, or no history at all. The metalink under
 * `/@<time>/` (metalink/time-travel.ts) answers with these too.
 */
export const snapshotAtOrRefusal = async (
  { time, at, repoDir }: { time: string; at: Date; repoDir: string },
  { config, s3, now = Date.now }: TimeTravelDependencies,
  facts: Record<string, string | number>,
): Promise<{ readonly snapshot: HistoricSnapshot } | { readonly refusal: TimeTravelAnswer }> => {
  // A snapshot's time is taken just before its manifest is written (and clocks differ a little): the last seconds
  // could still change, as the future could.
  if (at.getTime() > now() - SETTLING_MS) {
    return {
      refusal: {
        outcome: 'future',
        response: text(
          404,
          `Not Found: ${time} is in the future or the last ${SETTLING_MS / 1000} s, and what the repository is then could still change.`,
        ),
        facts,
      },
    };
  }
  const found = await findSnapshotAt(
    s3,
    { bucket: config.bucketName, repoDir, time },
    { historyDays: config.snapshotHistoryDays, now: now() },
    AbortSignal.timeout(LOOKUP_DEADLINE_MS),
  );
  switch (found.kind) {
    case 'no-history':
      return { refusal: { outcome: 'no-history', response: noHistory(repoDir), facts } };
    case 'before-history':
      return {
        refusal: {
          outcome: 'before-history',
          response: text(
            404,
            `Not Found: ${time} is before the first snapshot of ${repoDir || 'this repository'} the cache holds, ` +
              `${found.first}: ask for /@${found.first}/${repoDir} or later.`,
          ),
          facts: { ...facts, first: found.first },
        },
      };
    case 'found':
      return { snapshot: found.snapshot };
  }
};

/** The answer for repository metadata (`repodata`, the path without the time) at `time`. */
export const answerAt = async (
  { time, at, repodata }: { time: string; at: Date; repodata: RepodataPath },
  deps: TimeTravelDependencies,
  { method }: TimeTravelRequest,
): Promise<TimeTravelAnswer> => {
  const { config, s3 } = deps;
  const { repoDir, file } = repodata;
  const facts = { repository: repoDir, time, file };
  const found = await snapshotAtOrRefusal({ time, at, repoDir }, deps, facts);
  if ('refusal' in found) return found.refusal;
  const { snapshot } = found;
  const shown = { ...facts, snapshot: snapshot.time, snapshotId: snapshot.id };
  const stored = snapshot.files[file];
  const headers = { 'X-Cache-Snapshot': snapshot.time };
  if (stored === undefined) {
    const why = snapshot.absent.includes(file)
      ? 'the origin did not have this file when the snapshot was taken'
      : 'the snapshot does not hold this file';
    return {
      outcome: 'not-in-snapshot',
      response: text(404, `Not Found: ${why} (snapshot ${snapshot.time}).`, headers),
      facts: shown,
    };
  }
  const location = await presignedUrl(
    s3,
    { bucket: config.bucketName, key: stored.key, method },
    config.presignedUrlExpirationSeconds,
  );
  return {
    outcome: 'served',
    response: {
      statusCode: 302,
      headers: { Location: location, 'X-Cache': 'hit', ...headers, ...NO_STORE },
      body: '',
    },
    facts: shown,
  };
};

/** Whether the client asked for JSON. */
const wantsJson = (accept: string | undefined): boolean => accept?.toLowerCase().includes('application/json') === true;

/** `GET /@/<repository path>/`: the repository's snapshots, newest first. */
export const answerListing = async (
  repoDir: string,
  { config, s3, now = Date.now }: TimeTravelDependencies,
  { accept }: TimeTravelRequest,
): Promise<TimeTravelAnswer> => {
  const snapshots = await listSnapshots(
    s3,
    { bucket: config.bucketName, repoDir },
    { historyDays: config.snapshotHistoryDays, now: now() },
    AbortSignal.timeout(LISTING_DEADLINE_MS),
  );
  const facts = { repository: repoDir, snapshots: snapshots.length };
  if (snapshots.length === 0) return { outcome: 'no-history', response: noHistory(repoDir), facts };
  const json = wantsJson(accept);
  return {
    outcome: 'listed',
    response: {
      statusCode: 200,
      headers: { 'Content-Type': json ? 'application/json' : 'text/html; charset=utf-8', ...NO_STORE, Vary: 'Accept' },
      body: json ? listingJson(repoDir, snapshots) : listingHtml(repoDir, snapshots),
    },
    facts,
  };
};

/** The answer for a path under `/@` that is not answered as an ordinary path. */
export const answerTravel = (
  travel: Exclude<TravelPath, { kind: 'pass' }>,
  deps: TimeTravelDependencies,
  request: TimeTravelRequest,
): Promise<TimeTravelAnswer> => {
  switch (travel.kind) {
    case 'malformed':
      return Promise.resolve(malformedAnswer(travel.reason));
    case 'listing':
      return answerListing(travel.repoDir, deps, request);
    case 'metadata':
      return answerAt(travel, deps, request);
  }
};
