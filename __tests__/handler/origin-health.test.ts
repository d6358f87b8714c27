import type { OriginHeadResult } from '../../src/handler/origin.js';
import { OriginHealth } from '../../src/handler/origin-health.js';

const TIMEOUT: OriginHeadResult = { available: false, status: 'timeout', error: 'TimeoutError' };

describe('OriginHealth', () => {
  let now = 0;
  const clock = () => now;

  beforeEach(() => {
    now = 1_000;
  });

  it('assumes the origin offline for the period after a timeout, then asks again', () => {
    const health = new OriginHealth(300_000, clock);

    health.noteProbe(TIMEOUT);
    const during = health.assumedOffline();
    now += 300_000;

    expect(during).toBe(true);
    expect(health.assumedOffline()).toBe(false);
  });

  it.each<OriginHeadResult>([
    { available: false, status: 503 },
    { available: false, status: 'unreachable', error: 'ECONNREFUSED' },
    { available: true, status: 200 },
  ])('is not tripped by an answer that costs no time (%j), and such an answer ends the period', (answer) => {
    const health = new OriginHealth(300_000, clock);
    health.noteProbe(answer);
    const tripped = health.assumedOffline();

    health.noteProbe(TIMEOUT);
    health.noteProbe(answer);

    expect(tripped).toBe(false);
    expect(health.assumedOffline()).toBe(false);
  });

  it('never assumes the origin offline with a period of 0', () => {
    const health = new OriginHealth(0, clock);

    health.noteProbe(TIMEOUT);

    expect(health.assumedOffline()).toBe(false);
  });

  it('runs one recovery probe at a time, and takes in its answer', async () => {
    const health = new OriginHealth(300_000, clock);
    health.noteProbe(TIMEOUT);
    let answer: (result: OriginHeadResult) => void = () => undefined;
    let probes = 0;
    const probe = () => {
      probes += 1;
      return new Promise<OriginHeadResult>((resolve) => {
        answer = resolve;
      });
    };

    health.probeInBackground(probe);
    health.probeInBackground(probe);
    answer({ available: true, status: 200 });
    await new Promise((resolve) => setImmediate(resolve));

    expect(probes).toBe(1);
    expect(health.assumedOffline()).toBe(false);
  });

  it('extends the period when the recovery probe times out too', async () => {
    const health = new OriginHealth(300_000, clock);
    health.noteProbe(TIMEOUT);
    now += 299_000;

    health.probeInBackground(async () => TIMEOUT);
    await new Promise((resolve) => setImmediate(resolve));
    now += 2_000;

    expect(health.assumedOffline()).toBe(true);
  });
});
