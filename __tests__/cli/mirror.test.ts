/**
 * `rpm-cache mirror` through the local stack: a repository whose primary
 * metadata lists RPMs (synthetic, each passing the uploader's checks) on a
 * mirror; after the command every RPM is stored and, once the mirror drops
 * them, served from the cache byte for byte. A second run fetches nothing.
 */
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { type CliIo, runCli } from '../../src/cli/main.js';
import { parseSnapshotTime } from '../../src/commons/snapshot-history.js';
import { refusedBaseUrl } from '../helpers/origin-server.js';
import { primaryXml } from '../helpers/primary-xml.js';
import { repository } from '../helpers/repository.js';
import { syntheticRpmFor } from '../helpers/synthetic-rpm.js';
import { startTestStack, type TestStack } from '../helpers/test-stack.js';

const REPO = 'pub/fedora/linux/updates/44/Everything/x86_64/';
const NAMES = ['alpha', 'beta', 'gamma-c++', 'delta'];

class Captured extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString('utf8');
    callback();
  }
}

describe('rpm-cache mirror', () => {
  let test: TestStack;
  const rpms = new Map<string, Buffer>();

  const run = async (...argv: string[]) => {
    const stdout = new Captured();
    const stderr = new Captured();
    const io: CliIo = { stdout, stderr, env: {} };
    const code = await runCli(['mirror', '--cache', test.stack.url, ...argv], io);
    return { code, stdout: stdout.text, stderr: stderr.text };
  };

  beforeAll(async () => {
    test = await startTestStack({ S3_BUCKET_NAME: 'rpm-cache-mirror', ORIGIN_HEAD_TIMEOUT: '1' });
    for (const name of NAMES) {
      const href = `Packages/${name[0]}/${name}-1.0-1.fc44.x86_64.rpm`;
      rpms.set(href, syntheticRpmFor(href, { payloadBytes: 5000 }));
    }
    for (const [path, bytes] of repository(REPO, { primary: gzipSync(primaryXml(rpms)) })) {
      test.origin.files.set(path, bytes);
    }
    for (const [href, bytes] of rpms) test.origin.files.set(`${REPO}${href}`, bytes);
  });

  afterAll(async () => {
    await test?.close();
  });

  it('stores every RPM the repository lists, verified, and the cache serves them once the mirror drops them', async () => {
    const first = await run('--json', REPO);

    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const report = JSON.parse(first.stdout) as { packages: { name: string; state: string }[] };
    expect(report.packages.map(({ name }) => name).sort()).toEqual([...NAMES].sort());
    for (const entry of report.packages) expect(['newly-cached', 'cached']).toContain(entry.state);

    for (const href of rpms.keys()) test.origin.files.delete(`${REPO}${href}`);
    for (const [href, bytes] of rpms) {
      const path = `${REPO}${href}`.split('/').map(encodeURIComponent).join('/');
      const response = await fetch(`${test.stack.url}/${path}`);
      expect(response.status).toBe(200);
      expect(Buffer.from(await response.arrayBuffer())).toEqual(bytes);
    }
  }, 120_000);

  it('a second run finds everything stored and downloads nothing from the origin', async () => {
    const downloadsBefore = test.origin.requestsFor('GET').length;

    const again = await run('--json', REPO);

    expect(again.code).toBe(0);
    const report = JSON.parse(again.stdout) as { packages: { state: string }[] };
    expect(report.packages.every(({ state }) => state === 'cached')).toBe(true);
    const rpmGets = test.origin
      .requestsFor('GET')
      .slice(downloadsBefore)
      .filter(({ url }) => url.endsWith('.rpm'));
    expect(rpmGets).toEqual([]);
  }, 120_000);

  it('--at reads the snapshot current then, through /@<time>/', async () => {
    // The first run asked for repomd.xml through the cache: its snapshot is in the history.
    const listing = (await (
      await fetch(`${test.stack.url}/@/${REPO}`, { headers: { accept: 'application/json' } })
    ).json()) as { snapshots: { time: string }[] };
    const [snapshot] = listing.snapshots;
    expect(snapshot).toBeDefined();
    const time = snapshot?.time ?? '';
    const settled = (parseSnapshotTime(time)?.getTime() ?? 0) + 11_000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, settled - Date.now())));

    const at = await run('--json', '--at', time, REPO);
    expect(at.code).toBe(0);
    expect((JSON.parse(at.stdout) as { packages: unknown[] }).packages).toHaveLength(NAMES.length);

    const before = await run('--at', '20200101T000000Z', REPO);
    expect(before.code).toBe(1);
    expect(before.stderr).toContain(`@20200101T000000Z/${REPO}repodata/repomd.xml answered HTTP 404`);
  }, 60_000);

  it('exits 1 naming the answer when the repository has no metadata, 2 for a malformed --at', async () => {
    const missing = await run('pub/never/');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/repodata\/repomd\.xml answered HTTP 404/);
    expect(missing.stderr).toContain('is REPOSITORY the directory that holds repodata/');

    const badTime = await run('--at', 'yesterday', REPO);
    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toContain('--at "yesterday" is not a time');
  });

  it('exits 2 naming the address when the cache cannot be reached, one JSON document with --json', async () => {
    const stdout = new Captured();
    const stderr = new Captured();
    const refused = await refusedBaseUrl();
    const code = await runCli(['mirror', '--cache', refused, '--json', REPO], { stdout, stderr, env: {} });

    expect(code).toBe(2);
    expect(JSON.parse(stdout.text)).toEqual({ error: expect.stringContaining(`cannot reach the cache at ${refused}`) });
    expect(stderr.text).toMatch(/^rpm-cache: cannot reach the cache at http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  });
});
