import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalStack } from '../../src/local/stack.js';
import { captureLogs } from '../helpers/logs.js';
import { OriginServer } from '../helpers/origin-server.js';
import { syntheticRpm } from '../helpers/synthetic-rpm.js';

const BURST = 50;
const PACKAGE = 'pub/fedora/linux/updates/44/Everything/x86_64/Packages/b/burst-1.0-1.fc44.x86_64.rpm';

describe(`a burst of ${BURST} requests for one uncached RPM through the local stack`, () => {
  let work: string;
  let origin: OriginServer;
  let stack: LocalStack;
  let logs: ReturnType<typeof captureLogs>;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'rpm-cache-burst-'));
    origin = await OriginServer.start();
    // Served slowly, so the burst is over while the one download still runs.
    origin.files.set(PACKAGE, syntheticRpm({ payloadBytes: 2 * 1024 * 1024 }));
    origin.behaviours.set(PACKAGE, { kind: 'slow', chunks: 4, delayMs: 100 });
    logs = captureLogs();
    const { startLocalStack } = await import('../../src/local/stack.js');
    stack = await startLocalStack({
      env: { PORT: '0', ORIGIN_HOST: origin.baseUrl, RPM_CACHE_DATA_DIR: join(work, 'data') },
      retryDelaysMs: [50, 100],
    });
  });

  afterAll(async () => {
    await stack.close();
    await origin.close();
    logs.restore();
    await rm(work, { recursive: true, force: true });
  });

  it('downloads the RPM from origin once, and answers every request with a redirect to origin', async () => {
    const responses = await Promise.all(
      Array.from({ length: BURST }, () => fetch(`${stack.url}/${PACKAGE}`, { redirect: 'manual' })),
    );
    await stack.drain();

    expect(responses.map((response) => [response.status, response.headers.get('x-cache')])).toEqual(
      Array(BURST).fill([302, 'miss']),
    );
    const downloads = origin.requestsFor('GET').length;
    const uploads = logs.lines().filter((line) => line.message === 'upload');
    const triggered = logs.lines().filter((line) => line.message === 'request' && line.uploadTriggered === true);
    expect({
      downloads,
      triggered: triggered.length,
      stored: uploads.filter((line) => line.outcome === 'stored').length,
    }).toEqual({
      downloads: 1,
      triggered: 1,
      stored: 1,
    });

    const after = await fetch(`${stack.url}/${PACKAGE}`, { redirect: 'manual' });
    expect(after.headers.get('x-cache')).toBe('stored');
  });
});
