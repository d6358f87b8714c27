/**
 * Each function's first invocation in the local stack is a cold start, and
 * only that one, as in Lambda, where each function has containers of its own.
 */
import { syntheticRpmFor } from '../helpers/synthetic-rpm.js';
import { startTestStack, type TestStack } from '../helpers/test-stack.js';

describe('cold_start in the local stack', () => {
  let test: TestStack;

  beforeAll(async () => {
    test = await startTestStack();
  });

  afterAll(async () => {
    await test.close();
  });

  it('is true on the first invocation of the handler and of the uploader, false after', async () => {
    test.origin.files.set(
      'pub/c/cold-1.0-1.noarch.rpm',
      syntheticRpmFor('pub/c/cold-1.0-1.noarch.rpm', { payloadBytes: 1000 }),
    );
    test.origin.files.set(
      'pub/c/cold-2.0-1.noarch.rpm',
      syntheticRpmFor('pub/c/cold-2.0-1.noarch.rpm', { payloadBytes: 1000 }),
    );

    await fetch(`${test.stack.url}/pub/c/cold-1.0-1.noarch.rpm`, { redirect: 'manual' });
    await test.stack.drain();
    await fetch(`${test.stack.url}/pub/c/cold-2.0-1.noarch.rpm`, { redirect: 'manual' });
    await test.stack.drain();

    const coldStarts = (message: string) =>
      test.logs
        .lines()
        .filter((line) => line.message === message)
        .map((line) => line.cold_start);
    expect(coldStarts('request')).toEqual([true, false]);
    expect(coldStarts('upload')).toEqual([true, false]);
  });
});
