/**
 * `/@<time>/metalink?<query>` and `/@<time>/mirrorlist?<query>` (issue 27
 * item 4, docs/metalink.md "At a time"): a metalink for the repository as it
 * was at a time.
 *
 * Which repository `repo`/`arch` is comes from the service, as for
 * `/metalink` (the first listed mirror under a configured origin), or, when
 * the service fails or names no such mirror, from the recorded mapping
 * (last-repository.ts). The answer then vouches ONLY for the snapshot of that
 * repository current at the time (its id, the SHA-256 of its repomd.xml): the
 * upstream's hashes are of repomd.xml versions `/@<time>/` does not serve. Its
 * only URL is the cache's `/@<time>/<repository>/repodata/repomd.xml` (a
 * mirror list: the `/@<time>/<repository>/` base URL).
 *
 * A time in the future, before the history, malformed, or a repository with
 * no snapshot: the answer time travel gives for repodata under `/@<time>/`
 * (time-travel/answer.ts), its outcome in the facts (`timeTravel`).
 */
import type { HandlerConfig } from '../../commons/config.js';
import { parseSnapshotTime } from '../../commons/snapshot-history.js';
import { describeError } from '../origin.js';
import { malformedAnswer, snapshotAtOrRefusal, type TimeTravelAnswer } from '../time-travel/answer.js';
import { TIME_TRAVEL_MARK, type TravelPath, travelPathOf } from '../time-travel/travel-path.js';
import {
  cacheRepositoryUrl,
  type MetalinkAnswer,
  type MetalinkDependencies,
  type MetalinkRequest,
  type MirrorService,
  mirrorServiceOf,
  NO_STORE,
  ownAnswer,
  PLAIN_TEXT,
  passThrough,
  repositoryOfAnswer,
  serviceType,
  snapshotMetalink,
  unknownRepository,
  upstreamFailed,
} from './answer.js';
import { repoArchOf } from './last-repository.js';
import { MAX_METALINK_BYTES } from './metalink-xml.js';
import { writeMirrorlist } from './mirrorlist-text.js';
import { askUpstream } from './upstream.js';

/** A mirror service under `/@<time>/`: the time as the path gives it (`pass`), or a malformed one. */
export interface TravelMirrorService {
  readonly service: MirrorService;
  readonly upstream: string;
  readonly travel: Extract<TravelPath, { kind: 'pass' | 'malformed' }>;
}

export interface TravelMetalinkDependencies extends MetalinkDependencies {
  readonly config: MetalinkDependencies['config'] &
    Pick<HandlerConfig, 'snapshotHistoryDays' | 'presignedUrlExpirationSeconds'>;
  readonly now?: () => number;
}

/** Which service `path` (decoded, without its leading `/`) names under `/@<time>/`, when the cache answers it. */
export const travelMirrorServiceOf = (
  path: string,
  config: Pick<HandlerConfig, 'metalinkUrl' | 'mirrorlistUrl'>,
): TravelMirrorService | undefined => {
  if (!path.startsWith(TIME_TRAVEL_MARK) || path.startsWith(`${TIME_TRAVEL_MARK}/`)) return undefined;
  const slash = path.indexOf('/');
  if (slash === -1) return undefined;
  const named = mirrorServiceOf(path.slice(slash + 1), config);
  const travel = travelPathOf(path);
  if (named === undefined || travel === undefined) return undefined;
  if (travel.kind !== 'pass' && travel.kind !== 'malformed') return undefined;
  return { ...named, travel };
};

/** Time travel's answer, as a metalink answer. */
const refused = (answer: TimeTravelAnswer, facts: Record<string, string | number>): MetalinkAnswer => ({
  outcome: 'time-travel',
  response: answer.response,
  facts: { ...facts, ...answer.facts, timeTravel: answer.outcome },
});

/**
 * The repository `repo`/`arch` is: from the service's answer when it names
 * one (recorded then, as `/metalink` records it), else from the recorded
 * mapping. Or the answer to give instead: the service's own error passed
 * through, the unknown repository's 404, or a 502 when S3 cannot say.
 */
const repositoryFor = async (
  named: TravelMirrorService,
  deps: MetalinkDependencies,
  query: string | undefined,
  facts: Record<string, string | number>,
): Promise<{ readonly repository: string; readonly facts: Record<string, string | number> } | MetalinkAnswer> => {
  const { service, upstream } = named;
  const kept = deps.memo.get(upstream, query);
  const answer =
    kept?.answer ??
    (await askUpstream(upstream, query, {
      timeoutMs: deps.config.originHeadTimeoutMs,
      maxBytes: MAX_METALINK_BYTES,
      ...(deps.fetchUpstream === undefined ? {} : { fetchUpstream: deps.fetchUpstream }),
    }));
  const asked = {
    ...facts,
    ...(kept === undefined ? { upstreamAnswer: 'asked' } : { upstreamAnswer: 'kept', upstreamAgeMs: kept.ageMs }),
  };
  const repoArch = repoArchOf(query);
  let reason: string;
  if (answer.kind === 'answered') {
    if (kept === undefined) deps.memo.set(upstream, query, answer);
    // mirrormanager's 404 for an unknown repo/arch, as it gave it.
    if (answer.status !== 200) return passThrough(answer, 'not 200', asked);
    const named = await repositoryOfAnswer(deps.config, service, answer.body);
    if (named !== undefined) {
      let mapping: Record<string, string> = {};
      if (repoArch !== undefined) {
        try {
          mapping = { mapping: await deps.lastRepositories.record(repoArch, named.repoDir) };
        } catch (error) {
          mapping = { mapping: 'failed', mappingError: describeError(error) };
        }
      }
      return { repository: named.repoDir, facts: { ...asked, mirror: named.mirror, ...mapping } };
    }
    reason = 'named no mirror under a configured origin';
  } else {
    reason = answer.reason;
  }
  if (repoArch === undefined) return unknownRepository(service, upstream, reason, repoArch, asked);
  try {
    const repository = await deps.lastRepositories.read(repoArch);
    if (repository === undefined) return unknownRepository(service, upstream, reason, repoArch, asked);
    return { repository, facts: { ...asked, reason, mapping: 'read' } };
  } catch (error) {
    return upstreamFailed(service, upstream, reason, { ...asked, mappingError: describeError(error) });
  }
};

/** The answer to `/@<time>/metalink` or `/@<time>/mirrorlist` with `query`. */
export const answerMirrorServiceAt = async (
  named: TravelMirrorService,
  deps: TravelMetalinkDependencies,
  { query, publicUrl }: MetalinkRequest,
): Promise<MetalinkAnswer> => {
  const { service, upstream, travel } = named;
  const facts = { mirrorService: service, upstream, ...(query === undefined ? {} : { query }) };
  if (travel.kind === 'malformed') return refused(malformedAnswer(travel.reason), facts);
  const { time } = travel;
  const at = parseSnapshotTime(time);
  // travelPathOf parsed it already: a `pass` always has a time.
  if (at === undefined) return refused(malformedAnswer(`${JSON.stringify(time)} is not a time`), facts);
  const found = await repositoryFor(named, deps, query, { ...facts, time });
  if (!('repository' in found)) return found;
  const { repository } = found;
  const snapshot = await snapshotAtOrRefusal({ time, at, repoDir: repository }, deps, {
    ...found.facts,
    repository,
  });
  if ('refusal' in snapshot) return refused(snapshot.refusal, {});
  if (publicUrl === undefined) {
    return {
      outcome: 'time-travel',
      response: {
        statusCode: 502,
        headers: { 'Content-Type': PLAIN_TEXT, ...NO_STORE },
        body: 'Bad Gateway: the request names no host the cache could be reached at, so no answer can name it\n',
      },
      facts: { ...found.facts, repository, timeTravel: 'no-public-url' },
    };
  }
  const { id, time: snapshotTime } = snapshot.snapshot;
  const base = cacheRepositoryUrl(`${publicUrl}/${TIME_TRAVEL_MARK}${time}`, repository);
  const body =
    service === 'metalink'
      ? snapshotMetalink(base, id)
      : writeMirrorlist({
          comments: [`# rpm-cache: the repository as it was at ${time} (snapshot ${snapshotTime})`],
          urls: [base],
        });
  return {
    outcome: 'time-travel',
    response: ownAnswer(200, serviceType(service), 'time-travel', body, { 'X-Cache-Snapshot': snapshotTime }),
    facts: { ...found.facts, repository, timeTravel: 'served', snapshot: snapshotTime, snapshotId: id },
  };
};
