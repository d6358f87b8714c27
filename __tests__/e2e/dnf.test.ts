/**
 * End to end, with real parts only: real RPMs (rpmbuild, createrepo_c), a
 * mirror on 127.0.0.1, the local stack (embedded S3 server, the real SDK
 * clients, the real Lambda Invoke protocol) and a real dnf.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { LocalStack } from '../../src/local/stack.js';
import { captureLogs } from '../helpers/logs.js';
import { OriginServer } from '../helpers/origin-server.js';
import { buildRpm, createRepo, readTree, requireE2eTools, rpmFileName } from '../helpers/rpm-fixtures.js';

const CPP = { name: 'demo-c++', version: '1.0^20260101git', release: '1' };
const TILDE = { name: 'demo-tilde', version: '2.0~rc1', release: '1' };
const NEVER_CACHED = { name: 'hello', version: '1.0', release: '1' };
const REPO = 'pub/fedora/linux/updates/44/Everything/noarch';
const packagePath = (pkg: typeof CPP) => `${REPO}/Packages/${rpmFileName(pkg)}`;

interface DnfRun {
  readonly code: number;
  readonly output: string;
}

describe('dnf through the local stack', () => {
  let work: string;
  let origin: OriginServer;
  let stack: LocalStack;
  let s3: S3Client;
  let logs: ReturnType<typeof captureLogs>;
  const originals = new Map<string, Buffer>();
  let installroots = 0;

  /** Runs dnf in a fresh installroot (no cached metadata) and reports exit code and output. */
  const dnf = (args: string[]): Promise<DnfRun & { readonly installroot: string }> => {
    installroots += 1;
    const installroot = join(work, `installroot-${installroots}`);
    return new Promise((resolve) => {
      execFile(
        'dnf',
        [
          `--installroot=${installroot}`,
          '--releasever=44',
          '--setopt=install_weak_deps=False',
          '--setopt=timeout=3',
          '--setopt=retries=1',
          '--setopt=*.gpgcheck=0',
          '--nodocs',
          '-y',
          ...args,
        ],
        { timeout: 120_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' } },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
          resolve({ code, output: `${stdout}${stderr}`, installroot });
        },
      );
    });
  };

  const repoArgs = () => [`--repofrompath=r,${stack.url}/${REPO}`, '--repo=r'];
  /** The URL as a lockfile holds it: dnf 4 percent-encodes a command-line URL itself. */
  const packageUrl = (pkg: typeof CPP) => `${stack.url}/${REPO}/Packages/${rpmFileName(pkg)}`;
  /** The same URL encoded as dnf sends it on the wire (`%2b%2b`, `%5e`). */
  const encodedUrl = (pkg: typeof CPP) =>
    `${stack.url}/${REPO}/Packages/${encodeURIComponent(rpmFileName(pkg)).replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase())}`;

  const downloadWithRepo = async (names: string[]) => {
    const destdir = join(work, `download-${installroots + 1}`);
    const result = await dnf([...repoArgs(), 'download', `--destdir=${destdir}`, ...names]);
    return { ...result, destdir };
  };

  const cachedObject = async (pkg: typeof CPP): Promise<Buffer | undefined> => {
    try {
      const object = await s3.send(
        new GetObjectCommand({ Bucket: stack.bucketName, Key: `cache/${packagePath(pkg)}` }),
      );
      return Buffer.from((await object.Body?.transformToByteArray()) ?? []);
    } catch {
      return undefined;
    }
  };

  const waitForCachedObject = async (pkg: typeof CPP, deadlineMs = 15_000): Promise<Buffer | undefined> => {
    const deadline = Date.now() + deadlineMs;
    while (Date.now() < deadline) {
      const object = await cachedObject(pkg);
      if (object !== undefined) return object;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return undefined;
  };

  const redirectFor = async (url: string) => {
    const started = performance.now();
    const response = await fetch(url, { redirect: 'manual' });
    return {
      status: response.status,
      location: response.headers.get('location') ?? '',
      xCache: response.headers.get('x-cache'),
      ms: performance.now() - started,
    };
  };

  beforeAll(async () => {
    await requireE2eTools();
    work = await mkdtemp(join(tmpdir(), 'rpm-cache-e2e-'));
    const mirror = join(work, 'mirror');
    const packagesDir = join(mirror, REPO, 'Packages');
    for (const pkg of [CPP, TILDE, NEVER_CACHED]) {
      originals.set(pkg.name, await readFile(await buildRpm(pkg, join(work, 'build'), packagesDir)));
    }
    await createRepo(join(mirror, REPO));

    origin = await OriginServer.start();
    for (const [path, bytes] of await readTree(mirror)) origin.files.set(path, bytes);

    logs = captureLogs();
    const { startLocalStack } = await import('../../src/local/stack.js');
    stack = await startLocalStack({
      env: {
        HOST: '127.0.0.1',
        PORT: '0',
        ORIGIN_HOST: origin.baseUrl,
        ORIGIN_HEAD_TIMEOUT: '1',
        S3_BUCKET_NAME: 'rpm-cache-e2e',
        RPM_CACHE_DATA_DIR: join(work, 's3'),
      },
      retryDelaysMs: [100, 200],
    });
    s3 = new S3Client({
      endpoint: stack.s3Endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
  });

  afterAll(async () => {
    await stack?.close();
    await origin?.close();
    logs?.restore();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('1. origin up, not cached: dnf gets the RPMs from origin, then they appear in S3 byte-identical', async () => {
    const result = await downloadWithRepo([CPP.name, TILDE.name]);

    expect(result).toMatchObject({ code: 0 });
    for (const pkg of [CPP, TILDE]) {
      expect(await readFile(join(result.destdir, rpmFileName(pkg)))).toEqual(originals.get(pkg.name));
      expect(await waitForCachedObject(pkg)).toEqual(originals.get(pkg.name));
    }
    // dnf sends `%2b%2b` and `%5e`; origin is asked for the same file, encoded once.
    expect(origin.requestsFor('GET').map((request) => request.url)).toContain(
      `/${REPO}/Packages/demo-c++-1.0%5E20260101git-1.noarch.rpm`,
    );
    expect(await cachedObject(NEVER_CACHED)).toBeUndefined();
  });

  it('2. the mirror drops the RPMs: dnf with the old repodata still downloads them, from S3', async () => {
    for (const pkg of [CPP, TILDE]) origin.files.delete(packagePath(pkg));
    origin.requests.length = 0;

    const result = await downloadWithRepo([CPP.name, TILDE.name]);

    expect(result).toMatchObject({ code: 0 });
    for (const pkg of [CPP, TILDE]) {
      expect(await readFile(join(result.destdir, rpmFileName(pkg)))).toEqual(originals.get(pkg.name));
      const redirect = await redirectFor(encodedUrl(pkg));
      expect(redirect).toMatchObject({ status: 302, xCache: 'hit' });
      expect(new URL(redirect.location).origin).toBe(stack.s3Endpoint);
    }
    expect(origin.requestsFor('GET').filter((request) => request.url.includes('/Packages/'))).toEqual([]);
  });

  it('2b. the dropped RPM installs from its exact URL too', async () => {
    const result = await dnf(['--disablerepo=*', 'install', packageUrl(CPP)]);

    expect(result).toMatchObject({ code: 0 });
    expect(await readFile(join(result.installroot, 'usr/share/rpm-cache-e2e/demo-c++.txt'), 'utf8')).toBe(
      'demo-c++ 1.0^20260101git\n',
    );
  });

  describe.each([
    [
      'stalls past ORIGIN_HEAD_TIMEOUT',
      async () => {
        origin.defaultBehaviour = { kind: 'stall' };
      },
    ],
    ['is down (connection refused)', () => origin.close()],
  ])('3. origin %s', (_name, breakOrigin) => {
    beforeAll(async () => {
      await breakOrigin();
    });

    it('cached RPMs still install from their URLs, within the HEAD timeout', async () => {
      for (const pkg of [CPP, TILDE]) {
        const redirect = await redirectFor(encodedUrl(pkg));
        expect(redirect).toMatchObject({ status: 302, xCache: 'hit' });
        expect(redirect.ms).toBeLessThan(1000 + 1000);

        const result = await dnf(['--disablerepo=*', 'install', packageUrl(pkg)]);
        expect(result).toMatchObject({ code: 0 });
      }
    });

    it('an uncached RPM fails as it would without the cache', async () => {
      const redirect = await redirectFor(encodedUrl(NEVER_CACHED));
      expect(redirect).toMatchObject({ status: 302, xCache: 'miss' });
      expect(redirect.location).toBe(`${origin.baseUrl}/${REPO}/Packages/hello-1.0-1.noarch.rpm`);

      const result = await dnf(['--disablerepo=*', 'install', packageUrl(NEVER_CACHED)]);
      expect(result.code).not.toBe(0);
    });

    it('repodata is redirected to origin', async () => {
      const redirect = await redirectFor(`${stack.url}/${REPO}/repodata/repomd.xml`);

      expect(redirect).toMatchObject({
        status: 302,
        xCache: 'bypass',
        location: `${origin.baseUrl}/${REPO}/repodata/repomd.xml`,
      });
    });
  });

  it('logs the hits, and never a presigned query', () => {
    const text = logs.text();

    expect(text).toContain('"outcome":"hit"');
    expect(text).not.toContain('X-Amz-Signature=');
  });
});
