import { syntheticRpmFor } from '../helpers/synthetic-rpm.js';
import { startTestStack, type TestStack } from '../helpers/test-stack.js';

const BURST = 50;
const PACKAGE = 'pub/fedora/linux/updates/44/Everything/x86_64/Packages/b/burst-1.0-1.fc44.x86_64.rpm';

describe(`a burst of ${BURST} requests for one uncached RPM through the local stack`, () => {
  let testStack: TestStack;

  beforeAll(async () => {
    testStack = await startTestStack();
    // Served slowly, so the burst is over while the one download still runs.
    testStack.origin.files.set(PACKAGE, syntheticRpmFor(PACKAGE, { payloadBytes: 2 * 1024 * 1024 }));
    testStack.origin.behaviours.set(PACKAGE, { kind: 'slow', chunks: 4, delayMs: 100 });
  });

  afterAll(() => testStack.close());

  it('downloads the RPM from origin once, and answers every request with a redirect to origin', async () => {
    const { stack, origin, logs } = testStack;
    const responses = await Promise.all(
      Array.from({ length: BURST }, () => fetch(`${stack.url}/${PACKAGE}`, { redirect: 'manual' })),
    );
    await stack.drain();

    expect(responses.map((response) => [response.status, response.headers.get('x-cache')])).toEqual(
      Array(BURST).fill([302, 'miss']),
    );
    const downloads = origin.requestsFor('GET').length;
    const uploads = logs.linesOf('upload');
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
