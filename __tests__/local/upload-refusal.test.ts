/**
 * A refused upload through the local stack (the handler, the uploader and S3
 * as `npm start` runs them): the origin serves a corrupt copy; the uploader
 * refuses it once, and from then on the handler says so instead of
 * triggering the same doomed download; a fixed copy at the origin is tried
 * at once and stored.
 */
import { syntheticRpmFor } from '../helpers/synthetic-rpm.js';
import { startTestStack, type TestStack } from '../helpers/test-stack.js';

const PACKAGE = 'pub/Packages/b/broken-1.0-1.noarch.rpm';

describe('a refused upload through the local stack', () => {
  let testStack: TestStack;
  const rpm = syntheticRpmFor(PACKAGE, { payloadBytes: 50_000 });
  /** The same length as the RPM, its bytes flipped near the end: its digests fail. */
  const corrupt = Buffer.from(rpm);
  corrupt[corrupt.length - 100] = (corrupt[corrupt.length - 100] ?? 0) ^ 0xff;

  beforeAll(async () => {
    testStack = await startTestStack({ ORIGIN_HEAD_TIMEOUT: '1' });
  });

  afterAll(async () => {
    await testStack.close();
  });

  const head = async () => {
    const response = await fetch(`${testStack.stack.url}/${PACKAGE}`, { method: 'HEAD', redirect: 'manual' });
    return {
      xCache: response.headers.get('x-cache'),
      upload: response.headers.get('x-cache-upload'),
      reason: response.headers.get('x-cache-upload-reason'),
    };
  };

  /** Asks until `done` holds for an answer, for at most 20 s. */
  const until = async (done: (answer: Awaited<ReturnType<typeof head>>) => boolean) => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const answer = await head();
      if (done(answer)) return answer;
      if (Date.now() > deadline) throw new Error(`still ${JSON.stringify(answer)} after 20 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  it('is said by every answer while the origin serves that copy, downloaded once; a fixed copy is stored', async () => {
    testStack.origin.files.set(PACKAGE, corrupt);

    expect(await head()).toEqual({ xCache: 'miss', upload: null, reason: null });
    const refused = await until((answer) => answer.upload === 'refused');

    expect(refused.xCache).toBe('miss');
    expect(refused.reason).toMatch(
      /^refused at \S+, tried again after \S+ or once the origin's copy changes: .*does not match/,
    );
    for (let again = 0; again < 5; again += 1) expect(await head()).toEqual(refused);
    const gets = () => testStack.origin.requestsFor('GET').filter(({ url }) => url.endsWith('broken-1.0-1.noarch.rpm'));
    expect(gets()).toHaveLength(1);
    expect(
      testStack.logs.lines().some((line) => line.message === 'request' && typeof line.uploadRefused === 'string'),
    ).toBe(true);

    // The mirror fixes its copy (a new ETag): tried at once, not when a memo forgets the path.
    testStack.origin.files.set(PACKAGE, rpm);
    await until((answer) => answer.xCache === 'stored');
    expect(gets()).toHaveLength(2);
  }, 60_000);
});
