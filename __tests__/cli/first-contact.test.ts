/**
 * Issue 29's "done when", against the local stack `npm start` runs: a
 * lockfile whose RPM the origin serves corrupt makes `warm` end within a
 * minute, exit 1, naming the cache's refusal, with the origin asked for
 * the file at most twice; a lockfile under another host than the cache's
 * origin makes it exit 2 naming the host.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type CliIo, runCli } from '../../src/cli/main.js';
import { syntheticRpmFor } from '../helpers/synthetic-rpm.js';
import { startTestStack, type TestStack } from '../helpers/test-stack.js';

const PATH = 'pub/fedora/linux/updates/44/Everything/x86_64/Packages/b/broken-1.0-1.fc44.x86_64.rpm';

class Captured extends Writable {
  text = '';
  readonly isTTY = false;
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString('utf8');
    callback();
  }
}

const lockfile = (url: string, bytes: Buffer) =>
  [
    'lockfileVersion: 1',
    'lockfileVendor: redhat',
    'arches:',
    '  - arch: x86_64',
    '    packages:',
    `      - url: ${url}`,
    '        repoid: updates',
    `        size: ${bytes.length}`,
    `        checksum: sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    '        name: broken',
    '        evr: 1.0-1.fc44',
    '        sourcerpm: broken-1.0-1.fc44.src.rpm',
    '',
  ].join('\n');

describe("first contact: warm's failures end fast and say why", () => {
  let test: TestStack;
  const rpm = syntheticRpmFor(PATH, { payloadBytes: 40_000 });

  beforeAll(async () => {
    test = await startTestStack({ ORIGIN_HEAD_TIMEOUT: '1' });
  });

  afterAll(async () => {
    await test.close();
  });

  const warm = async (file: string, ...flags: string[]) => {
    const stdout = new Captured();
    const stderr = new Captured();
    const io: CliIo = { stdout, stderr, env: {} };
    const started = Date.now();
    const code = await runCli(['warm', '--cache', test.stack.url, ...flags, file], io);
    return { code, stdout: stdout.text, stderr: stderr.text, seconds: (Date.now() - started) / 1000 };
  };

  it('a pinned RPM the origin serves corrupt: exit 1 within a minute, the refusal named, the origin asked at most twice', async () => {
    const corrupt = Buffer.from(rpm);
    corrupt[corrupt.length - 10] = (corrupt[corrupt.length - 10] ?? 0) ^ 0xff;
    test.origin.files.set(PATH, corrupt);
    const file = join(test.work, 'corrupt.lock.yaml');
    await writeFile(file, lockfile(`https://dl.fedoraproject.org/${PATH}`, rpm));

    const result = await warm(file);

    expect(result.code).toBe(1);
    expect(result.seconds).toBeLessThan(60);
    expect(result.stdout).toMatch(/^failed +broken .*refused the origin's copy.*does not match/m);
    const gets = test.origin.requestsFor('GET').filter(({ url }) => url.endsWith('broken-1.0-1.fc44.x86_64.rpm'));
    expect(gets.length).toBeGreaterThanOrEqual(1);
    expect(gets.length).toBeLessThanOrEqual(2);
  }, 90_000);

  it('a lockfile under another host than --origin-host: exit 2, naming the host its URLs use', async () => {
    const file = join(test.work, 'elsewhere.lock.yaml');
    await writeFile(file, lockfile(`https://mirror.example.org/${PATH}`, rpm));

    const result = await warm(file, '--origin-host', 'https://dl.fedoraproject.org');

    expect(result.code).toBe(2);
    expect(`${result.stdout}${result.stderr}`).toMatch(
      /--origin-host.*mirror\.example\.org|mirror\.example\.org.*--origin-host/s,
    );
  }, 60_000);
});
