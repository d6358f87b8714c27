/**
 * The mirror manager's answers, kept briefly per container (docs/metalink.md,
 * "Answers kept for a minute"): a burst of CI jobs starting together asks the
 * service once per container and `repo`/`arch`, not once per job.
 *
 * 60 seconds: Fedora's metalink changes when a repository is pushed (a few
 * times a day) and the service itself lags the origin by minutes, so an answer
 * a minute old vouches for what a fresh one would; and the cache's own
 * snapshot is still looked up on every request, so a newer snapshot is vouched
 * for at once.
 *
 * Keyed by the service's URL and the query without `countme`, so the
 * answers for one `repo`/`arch` are shared whatever the client's count.
 * `countme` still reaches the service: a request that carries it is always
 * asked upstream (its answer then kept for the others). dnf adds it to one
 * request a week per installation, so every installation is still counted,
 * once; only the requests without it are answered from here.
 *
 * Only answers are kept, not failures: with the service down each request
 * asks again (within the service timeout) and is then written from the
 * snapshot.
 */
import { DEFAULT_METALINK_ANSWER_TTL } from '../../commons/config.js';
import type { UpstreamAnswer } from './upstream.js';

/** How long an answer is kept unless METALINK_ANSWER_TTL says otherwise. */
export const UPSTREAM_ANSWER_TTL_MS = DEFAULT_METALINK_ANSWER_TTL * 1000;

type Answered = Extract<UpstreamAnswer, { kind: 'answered' }>;

/** The query without `countme`, parameters in the client's order; and whether it had one. */
export const withoutCountme = (query: string | undefined): { readonly key: string; readonly countme: boolean } => {
  const parts = (query ?? '').split('&').filter((part) => part !== '');
  // dnf writes the name as is; a client that encodes it otherwise is asked upstream like any other query.
  const kept = parts.filter((part) => part.split('=')[0] !== 'countme');
  return { key: kept.join('&'), countme: kept.length !== parts.length };
};

/** Answers by service URL and query (without `countme`), each for UPSTREAM_ANSWER_TTL_MS. */
export class UpstreamMemo {
  private readonly answers = new Map<string, { readonly answer: Answered; readonly at: number }>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly ttlMs = UPSTREAM_ANSWER_TTL_MS,
    private readonly maxEntries = 500,
  ) {}

  /** The kept answer for `upstream?query` and its age, unless the query carries `countme` or none is fresh. */
  get(upstream: string, query: string | undefined): { readonly answer: Answered; readonly ageMs: number } | undefined {
    const { key, countme } = withoutCountme(query);
    if (countme) return undefined;
    const kept = this.answers.get(`${upstream}?${key}`);
    if (kept === undefined) return undefined;
    const ageMs = this.now() - kept.at;
    if (ageMs >= this.ttlMs || ageMs < 0) {
      this.answers.delete(`${upstream}?${key}`);
      return undefined;
    }
    return { answer: kept.answer, ageMs };
  }

  /** Keeps `answer` for `upstream?query` (its `countme` dropped from the key). */
  set(upstream: string, query: string | undefined, answer: Answered): void {
    if (this.ttlMs <= 0) return;
    const key = `${upstream}?${withoutCountme(query).key}`;
    this.answers.delete(key);
    this.answers.set(key, { answer, at: this.now() });
    if (this.answers.size > this.maxEntries) {
      const oldest = this.answers.keys().next().value;
      if (oldest !== undefined) this.answers.delete(oldest);
    }
  }
}
