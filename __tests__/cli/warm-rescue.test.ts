/**
 * `rpm-cache warm` rescues through the local stack (#26 "done when"): a
 * lockfile pins two RPMs the origin no longer has and the cache never saw;
 * a Koji-like archive (RESCUE_URLS, signed copies under the source
 * package's name, version and release) holds one with the pinned bytes and
 * the other with other bytes. The first is rescued (verified, then served
 * from the cache byte for byte); the second is never stored and reported
 * lost, with the cache's reason; warm exits 1, and 0 once only the rescued
 * one is asked for.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { type CliIo, runCli } from '../../src/cli/main.js';
import { cacheKey } from '../../src/commons/paths.js';
import { OriginServer } from '../helpers/origin-server.js';
import { primaryXml } from '../helpers/primary-xml.js';
import { repository } from '../helpers/repository.js';
import { syntheticRpmFor } from '../helpers/synthetic-rpm.js';
import { stackS3Client, startTestStack, type TestStack } from '../helpers/test-stack.js';

class Captured extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString('utf8');
    callback();
  }
}

const REPO = 'pub/fedora/linux/updates/44/Everything/x86_64/';
const KOJI_SIGNED = '/packages/{source_name}/{source_version}/{source_release}/data/signed/6d9f90a6/{arch}/{file}';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

interface Pinned {
  readonly name: string;
  readonly path: string;
  readonly bytes: Buffer;
  readonly sourceRpm: string;
}

const pinned = (name: string, payloadBytes: number): Pinned => {
  const path = `${REPO}Packages/${name[0]}/${name}-1.0-1.fc44.x86_64.rpm`;
  return { name, path, bytes: syntheticRpmFor(path, { payloadBytes }), sourceRpm: `${name}-suite-2.0-3.fc44.src.rpm` };
};

/** Where the Koji-like archive keeps a pinned RPM (its source package is `<name>-suite` 2.0-3.fc44). */
const archivePath = ({ name, path }: Pinned) =>
  `packages/${name}-suite/2.0/3.fc44/data/signed/6d9f90a6/x86_64/${path.slice(path.lastIndexOf('/') + 1)}`;

describe('rpm-cache warm with RESCUE_URLS', () => {
  let archive: OriginServer;
  let test: TestStack;
  const rescued = pinned('rescued', 6000);
  const impostor = pinned('impostor', 6000);

  const lockfile = async (file: string, packages: readonly Pinned[]) => {
    const lines = ['lockfileVersion: 1', 'lockfileVendor: redhat', 'arches:', '- arch: x86_64', '  packages:'];
    for (const { name, path, bytes, sourceRpm } of packages) {
      lines.push(
        `  - url: ${test.origin.baseUrl}/${path}`,
        '    repoid: updates',
        `    size: ${bytes.length}`,
        `    checksum: sha256:${sha256(bytes)}`,
        `    name: ${name}`,
        '    evr: 1.0-1.fc44',
        `    sourcerpm: ${sourceRpm}`,
      );
    }
    const location = join(test.work, file);
    await writeFile(location, `${lines.join('\n')}\n`);
    return location;
  };

  const warm = async (file: string) => {
    const stdout = new Captured();
    const stderr = new Captured();
    const io: CliIo = { stdout, stderr, env: {} };
    const code = await runCli(['warm', '--cache', test.stack.url, '--json', '--deadline', '60', file], io);
    return {
      code,
      report: JSON.parse(stdout.text) as { packages: { name: string; state: string; reason?: string }[] },
    };
  };

  beforeAll(async () => {
    archive = await OriginServer.start();
    test = await startTestStack({
      S3_BUCKET_NAME: 'rpm-cache-rescue',
      RESCUE_URLS: `${archive.baseUrl}${KOJI_SIGNED}`,
    });
    archive.files.set(archivePath(rescued), rescued.bytes);
    // A valid RPM of the same file name, but not the bytes the lockfile pins.
    archive.files.set(archivePath(impostor), syntheticRpmFor(impostor.path, { payloadBytes: 6001 }));
  });

  afterAll(async () => {
    await test?.close();
    await archive?.close();
  });

  it('rescues the pinned bytes from the archive and reports rescued; refuses other bytes and reports lost, exit 1', async () => {
    const { code, report } = await warm(await lockfile('both.yaml', [rescued, impostor]));

    expect(code).toBe(1);
    const states = Object.fromEntries(report.packages.map(({ name, state, reason }) => [name, { state, reason }]));
    expect(states.rescued).toEqual({ state: 'rescued' });
    expect(states.impostor?.state).toBe('lost');
    expect(states.impostor?.reason).toContain('no archive could supply it');
    expect(states.impostor?.reason).toContain(sha256(impostor.bytes));
    // The archive was asked at the source package's path, for each.
    expect(archive.requestsFor('GET').map(({ url }) => url)).toEqual(
      expect.arrayContaining([`/${archivePath(rescued)}`, `/${archivePath(impostor)}`]),
    );

    const s3 = stackS3Client(test.stack);
    await expect(
      s3.send(new HeadObjectCommand({ Bucket: 'rpm-cache-rescue', Key: cacheKey(impostor.path) })),
    ).rejects.toMatchObject({ name: 'NotFound' });
    const served = await fetch(`${test.stack.url}/${rescued.path}`);
    expect(served.status).toBe(200);
    expect(Buffer.from(await served.arrayBuffer())).toEqual(rescued.bytes);
  }, 120_000);

  it('reports failed, not rescued, when the cache rescued the bytes its snapshot lists and the lockfile pins others', async () => {
    const repo = 'pub/fedora/linux/updates/43/Everything/x86_64/';
    const path = `${repo}Packages/l/listed-1.0-1.fc44.x86_64.rpm`;
    const listedBytes = syntheticRpmFor(path, { payloadBytes: 7000 });
    const href = path.slice(repo.length);
    for (const [file, bytes] of repository(repo, {
      primary: gzipSync(primaryXml(new Map([[href, listedBytes]]), { sourceOf: () => 'listed-suite' })),
    })) {
      test.origin.files.set(file, bytes);
    }
    // The snapshot the cache takes lists the file (the origin never serves the RPM itself).
    await (await fetch(`${test.stack.url}/${repo}repodata/repomd.xml`, { redirect: 'manual' })).arrayBuffer();
    await test.stack.drain();
    const pinnedOther: Pinned = {
      name: 'listed',
      path,
      bytes: syntheticRpmFor(path, { payloadBytes: 7001 }),
      sourceRpm: 'listed-suite-2.0-3.fc44.src.rpm',
    };
    // Where the archive keeps the snapshot's file (its listing names source listed-suite-1.0-1.fc44).
    archive.files.set(`packages/listed-suite/1.0/1.fc44/data/signed/6d9f90a6/x86_64/${href.slice(11)}`, listedBytes);

    const { code, report } = await warm(await lockfile('other.yaml', [pinnedOther]));

    expect(code).toBe(1);
    expect(report.packages[0]).toMatchObject({ state: 'failed', reason: expect.stringContaining('mismatch') });
    // What the cache holds is the snapshot's file, byte for byte.
    const served = await fetch(`${test.stack.url}/${path}`);
    expect(Buffer.from(await served.arrayBuffer())).toEqual(listedBytes);
  }, 120_000);

  it('finds the rescued RPM cached on the next run (exit 0), and does not ask the archive for the refused one again', async () => {
    const archiveGets = archive.requestsFor('GET').length;

    const { code, report } = await warm(await lockfile('rescued.yaml', [rescued]));
    expect(code).toBe(0);
    expect(report.packages.map(({ state }) => state)).toEqual(['cached']);

    const again = await warm(await lockfile('impostor.yaml', [impostor]));
    expect(again.code).toBe(1);
    expect(again.report.packages[0]?.state).toBe('lost');
    expect(archive.requestsFor('GET').length).toBe(archiveGets);
  }, 120_000);
});
