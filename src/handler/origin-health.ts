/**
 * What one handler container believes about the origin: after an origin HEAD
 * timed out, the origin is assumed offline for a while (Artifactory's
 * "assumed offline period"), and requests with a stored copy are answered
 * from the cache at once instead of each waiting ORIGIN_HEAD_TIMEOUT.
 *
 * Only a timeout trips it: a 5xx or a refused connection answers at once, so
 * asking costs nothing. The period ends early when the origin answers again.
 * A request answered during the period starts one recovery probe (a HEAD no
 * client waits for) when none is out. Lambda freezes the container between
 * requests, so a probe may only finish during a later request: its answer
 * (any HTTP status, or a refused connection) ends the period then; a timeout
 * extends it.
 */
import type { OriginHeadResult } from './origin.js';

export class OriginHealth {
  private offlineUntil = 0;
  private probing = false;

  /**
   * @param periodMs how long a timeout makes the origin assumed offline; 0 turns it off.
   */
  constructor(
    private readonly periodMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether the origin is assumed offline now. */
  assumedOffline(): boolean {
    return this.now() < this.offlineUntil;
  }

  /** Takes in what an origin HEAD found: a timeout starts (or extends) the period, an answer ends it. */
  noteProbe(result: OriginHeadResult): void {
    if (result.status === 'timeout') {
      if (this.periodMs > 0) this.offlineUntil = this.now() + this.periodMs;
      return;
    }
    this.offlineUntil = 0;
  }

  /** Starts `probe` unless one is out already; nobody waits for it. */
  probeInBackground(probe: () => Promise<OriginHeadResult>): void {
    if (this.probing) return;
    this.probing = true;
    probe()
      .then((result) => this.noteProbe(result))
      .catch(() => undefined)
      .finally(() => {
        this.probing = false;
      });
  }
}

/**
 * Each origin's own health, by name (`ORIGINS`, and `default` for
 * `ORIGIN_HOST`), made at its first request: one origin timing out says
 * nothing of another. The names are the config's, so the map stays small.
 */
export const originHealthByName = (periodMs: number, now: () => number = Date.now) => {
  const byName = new Map<string, OriginHealth>();
  return (origin: string): OriginHealth => {
    const known = byName.get(origin);
    if (known !== undefined) return known;
    const health = new OriginHealth(periodMs, now);
    byName.set(origin, health);
    return health;
  };
};
