/**
 * Files cached before ORIGINS named their origin, end to end: the local stack
 * with ORIGIN_HOST, one name whose first URL lies under it and one whose
 * mirror does, each file stored under the key it had before the name (its
 * path below ORIGIN_HOST) and gone from every URL. `rpm-cache warm` counts
 * them cached (never lost), `--verify` downloads them, and the URLs
 * `rpm-cache rewrite` writes are served from them.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { parse as parseYaml } from 'yaml';
import { type CliIo, runCli } from '../../src/cli/main.js';
import { OriginServer } from '../helpers/origin-server.js';
import { stackS3Client, startTestStack, type TestStack } from '../helpers/test-stack.js';

/** A stream that keeps what is written (a pipe, not a terminal). */
class Captured extends Writable {
  text = '';
  readonly isTTY = false;
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString('utf8');
    callback();
  }
}

const FEDORA_REST = 'releases/44/Everything/x86_64/os/Packages/b/bash-5.3-1.fc44.x86_64.rpm';
const EPEL_REST = '9/Everything/x86_64/Packages/h/htop-3.3-1.el9.x86_64.rpm';
const FEDORA_BYTES = Buffer.from('bash, cached as pub/fedora/linux/... before ORIGINS named fedora');
const EPEL_BYTES = Buffer.from('htop, cached as pub/epel/... before ORIGINS named epel');

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('files cached before ORIGINS named their origin, through warm and rewrite', () => {
  let host: OriginServer;
  let elsewhere: OriginServer;
  let test: TestStack;
  let origins: string;
  let lockfile: string;

  const cli = async (args: string[]) => {
    const stdout = new Captured();
    const stderr = new Captured();
    const io: CliIo = { stdout, stderr, env: {} };
    const code = await runCli(args, io);
    return { code, stdout: stdout.text, stderr: stderr.text };
  };

  beforeAll(async () => {
    // Prepare: ORIGIN_HOST is `host`; fedora's first URL lies under it, epel's mirror does.
    host = await OriginServer.start();
    elsewhere = await OriginServer.start();
    origins = `fedora=${host.baseUrl}/pub/fedora/linux epel=${elsewhere.baseUrl}/epel,${host.baseUrl}/pub/epel`;
    test = await startTestStack({
      ORIGIN_HOST: host.baseUrl,
      ORIGINS: origins,
      ORIGIN_HEAD_TIMEOUT: '0.5',
      ORIGIN_OFFLINE_PERIOD: '0',
    });
    const s3 = stackS3Client(test.stack);
    try {
      for (const [key, body] of [
        [`cache/pub/fedora/linux/${FEDORA_REST}`, FEDORA_BYTES],
        [`cache/pub/epel/${EPEL_REST}`, EPEL_BYTES],
      ] as const) {
        await s3.send(new PutObjectCommand({ Bucket: test.stack.bucketName, Key: key, Body: body }));
      }
    } finally {
      s3.destroy();
    }
    lockfile = join(test.work, 'rpms.lock.yaml');
    const entry = (url: string, name: string, bytes: Buffer) => [
      `      - url: ${url}`,
      '        repoid: updates',
      `        size: ${bytes.length}`,
      `        checksum: sha256:${sha256(bytes)}`,
      `        name: ${name}`,
      '        evr: 1.0-1',
      `        sourcerpm: ${name}-1.0-1.src.rpm`,
    ];
    await writeFile(
      lockfile,
      [
        '---',
        'lockfileVersion: 1',
        'lockfileVendor: redhat',
        'arches:',
        '  - arch: x86_64',
        '    packages:',
        ...entry(`${host.baseUrl}/pub/fedora/linux/${FEDORA_REST}`, 'bash', FEDORA_BYTES),
        ...entry(`${host.baseUrl}/pub/epel/${EPEL_REST}`, 'htop', EPEL_BYTES),
        '',
      ].join('\n'),
    );
  }, 60_000);

  afterAll(async () => {
    for (const server of [host, elsewhere]) await server?.close();
    await test?.close();
  });

  it('counts them cached (not lost) and verifies them, with the deployment’s origins given to warm', async () => {
    // Act
    const result = await cli([
      'warm',
      '--cache',
      test.stack.url,
      '--origins',
      origins,
      '--origin-host',
      host.baseUrl,
      '--verify',
      '--json',
      lockfile,
    ]);

    // Assess
    const report = JSON.parse(result.stdout) as { packages: { name: string; path: string; state: string }[] };
    expect(report.packages.map(({ name, path, state }) => [name, path, state])).toEqual([
      ['bash', `fedora/${FEDORA_REST}`, 'cached'],
      ['htop', `epel/${EPEL_REST}`, 'cached'],
    ]);
    expect(result.code).toBe(0);
  }, 60_000);

  it('serves the URLs rewrite writes from the old keys', async () => {
    // Act
    const rewritten = await cli([
      'rewrite',
      '--cache',
      test.stack.url,
      '--origins',
      origins,
      '--origin-host',
      host.baseUrl,
      lockfile,
    ]);
    const document = parseYaml(rewritten.stdout) as { arches: { packages: { url: string }[] }[] };
    const urls = document.arches.flatMap((arch) => arch.packages.map((entry) => entry.url));

    // Assess
    expect(urls).toEqual([`${test.stack.url}/fedora/${FEDORA_REST}`, `${test.stack.url}/epel/${EPEL_REST}`]);
    for (const [url, bytes] of [
      [urls[0], FEDORA_BYTES],
      [urls[1], EPEL_BYTES],
    ] as const) {
      const asked = await fetch(url ?? '', { redirect: 'manual' });
      await asked.arrayBuffer();
      expect([asked.status, asked.headers.get('x-cache')]).toEqual([302, 'hit']);
      const downloaded = await fetch(url ?? '');
      expect(Buffer.from(await downloaded.arrayBuffer())).toEqual(bytes);
    }
    // Nothing was uploaded under the names' keys: every ask found the old ones.
    expect(await readFile(lockfile, 'utf8')).toContain(`${host.baseUrl}/pub/epel/`);
  }, 60_000);
});
