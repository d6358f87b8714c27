/**
 * Stopping the local stack. A file of its own: the test stops the stack, and
 * one process (one test file) runs one stack.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { syntheticRpmFor } from '../helpers/synthetic-rpm.js';
import { startTestStack, type TestStack } from '../helpers/test-stack.js';

/** Files s3rver keeps for objects, relative to its data directory. */
const storedObjects = async (dataDir: string): Promise<string[]> =>
  (await readdir(dataDir, { recursive: true })).filter((name) => name.endsWith('._S3rver_object'));

describe('local stack, stopping', () => {
  let test: TestStack;

  beforeAll(async () => {
    test = await startTestStack();
  });

  afterAll(() => test.close());

  it('finishes an in-flight upload before stopping, so nothing is left half-written', async () => {
    const slowRpm = syntheticRpmFor('pub/Packages/s/slow-1.0-1.noarch.rpm', { payloadBytes: 300_000 });
    test.origin.files.set('pub/Packages/s/slow-1.0-1.noarch.rpm', slowRpm);
    test.origin.behaviours.set('pub/Packages/s/slow-1.0-1.noarch.rpm', { kind: 'slow', chunks: 6, delayMs: 100 });

    const miss = await fetch(`${test.stack.url}/pub/Packages/s/slow-1.0-1.noarch.rpm`, { redirect: 'manual' });
    await test.stack.close();

    expect(miss.headers.get('x-cache')).toBe('miss');
    const dataDir = join(test.work, 'data');
    const slowObject = (await storedObjects(dataDir)).find((name) => name.includes('slow-1.0-1.noarch.rpm'));
    expect(slowObject).toBeDefined();
    expect(await readFile(join(dataDir, String(slowObject)))).toEqual(slowRpm);
    expect(existsSync(dataDir)).toBe(true);
  });
});
