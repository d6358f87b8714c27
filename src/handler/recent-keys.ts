/**
 * A per-container memo of keys seen recently, each forgotten after a TTL and
 * the oldest first when full. Lambda runs one request at a time per
 * container; the local stack runs many, and check-and-add is atomic in one
 * turn of the event loop, so concurrent requests agree on who came first.
 */
export class RecentKeys {
  private readonly expiries = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  has(key: string): boolean {
    const expiresAt = this.expiries.get(key);
    if (expiresAt === undefined) return false;
    if (expiresAt <= this.now()) {
      this.expiries.delete(key);
      return false;
    }
    return true;
  }

  add(key: string): void {
    this.expiries.delete(key);
    this.expiries.set(key, this.now() + this.ttlMs);
    while (this.expiries.size > this.maxEntries) {
      const oldest = this.expiries.keys().next();
      if (oldest.done === true) break;
      this.expiries.delete(oldest.value);
    }
  }

  /** Adds `key` unless it is present; says whether it was added. */
  tryAdd(key: string): boolean {
    if (this.has(key)) return false;
    this.add(key);
    return true;
  }

  delete(key: string): void {
    this.expiries.delete(key);
  }

  get size(): number {
    return this.expiries.size;
  }
}

/** What the handler remembers between requests in one container. */
export interface RedirectMemo {
  /** Keys whose upload was triggered lately: a burst of misses triggers once. */
  readonly triggered: RecentKeys;
  /** Keys known to be cached: no S3 lookup needed. */
  readonly cached: RecentKeys;
  /** Cached files the origin answered 404/410 for lately: served from the cache without asking it. */
  readonly lost: RecentKeys;
}

/** Long enough to cover one upload of a large RPM; short enough to retry a failed one soon. */
export const TRIGGERED_TTL_MS = 5 * 60_000;
/** A cached copy is never deleted by rpm-cache, but an operator may: look again now and then. */
export const CACHED_TTL_MS = 10 * 60_000;
const MAX_REMEMBERED_KEYS = 10_000;

/** @param lostTtlMs how long a lost file is remembered (ORIGIN_LOST_TTL); 0 remembers nothing. */
export const createRedirectMemo = (now: () => number = Date.now, lostTtlMs = 0): RedirectMemo => ({
  triggered: new RecentKeys(TRIGGERED_TTL_MS, MAX_REMEMBERED_KEYS, now),
  cached: new RecentKeys(CACHED_TTL_MS, MAX_REMEMBERED_KEYS, now),
  lost: new RecentKeys(lostTtlMs, MAX_REMEMBERED_KEYS, now),
});
