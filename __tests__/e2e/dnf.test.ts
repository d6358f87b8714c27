/**
 * End to end, with real parts only: real RPMs (rpmbuild, createrepo_c), a
 * mirror on 127.0.0.1, the local stack (embedded S3 server, the real SDK
 * clients, the real Lambda Invoke protocol) and a real dnf.
 *
 * Each scenario sets up what it needs (cached RPMs, a dropped file, a broken
 * origin) and every test starts from the whole mirror, up: they pass in any
 * order (`--randomize`). The per-container memo means an RPM is uploaded once
 * per run, so the one scenario that needs RPMs never seen has its own.
 *
 * Each front door (FRONT_DOOR: the HTTP API's events, or a Function URL's,
 * with rawPath as dnf sent it) gets a stack of its own, and runs the dnf
 * scenarios with the origin up. The origin-fault scenarios (half the file's
 * time) run through the HTTP API only: what they test happens after the path
 * is read, the same for either door.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { jest } from '@jest/globals';
import type { FrontDoor } from '../../src/handler/front-door.js';
import { dnf as runDnf } from '../helpers/package-clients.js';
import {
  buildRpm,
  createRepo,
  readTree,
  requireE2eTools,
  rpmFileName,
  type TestPackage,
} from '../helpers/rpm-fixtures.js';
import { stackS3Client, startTestStack, type TestStack } from '../helpers/test-stack.js';

/** Asked for only by the scenario where nothing is cached yet. */
const FRESH: readonly TestPackage[] = [
  { name: 'fresh-c++', version: '1.0^20260101git', release: '1' },
  { name: 'fresh-tilde', version: '2.0~rc1', release: '1' },
];
/** Cached by whichever scenario needs them first (caching is idempotent), then dropped or kept. */
const CACHED: readonly TestPackage[] = [
  { name: 'demo-c++', version: '1.0^20260101git', release: '1' },
  { name: 'demo-tilde', version: '2.0~rc1', release: '1' },
];
/** In the repodata, never asked for. */
const NEVER_ASKED: TestPackage = { name: 'hello', version: '1.0', release: '1' };
/**
 * Each asked for by one test only, while origin is broken. (The uploader is
 * invoked for it anyway, and stores it if origin comes back within Lambda's
 * retries: so one package per breakage, and nothing else asks for them.)
 */
const UNCACHED_WHILE_STALLED: TestPackage = { name: 'stalled', version: '1.0', release: '1' };
const UNCACHED_WHILE_DOWN: TestPackage = { name: 'down', version: '1.0', release: '1' };
const REPO = 'pub/fedora/linux/updates/44/Everything/noarch';
const packagePath = (pkg: TestPackage) => `${REPO}/Packages/${rpmFileName(pkg)}`;

interface DnfRun {
  readonly code: number;
  readonly output: string;
  readonly installroot: string;
}

interface FrontDoorCase {
  /**
   * What a name sent as `x%2525y.txt` is on its way to the origin: an HTTP API
   * decodes the path twice, a Function URL's rawPath is decoded once.
   */
  readonly percentName: string;
  /** Whether the origin-fault scenarios run through this door. */
  readonly originFaults: boolean;
}

const FRONT_DOORS: readonly (readonly [FrontDoor, FrontDoorCase])[] = [
  ['http-api', { percentName: 'x%25y.txt', originFaults: true }],
  ['function-url', { percentName: 'x%2525y.txt', originFaults: false }],
];

describe.each(FRONT_DOORS)('dnf through the local stack, front door %s', (frontDoor, { percentName, originFaults }) => {
  let test: TestStack;
  let s3: S3Client;
  let mirror: Map<string, Buffer>;
  const originals = new Map<string, Buffer>();
  let runs = 0;

  const stackUrl = () => test.stack.url;
  const origin = () => test.origin;

  /** Runs dnf in a fresh installroot (no cached metadata) and reports exit code and output. */
  const dnf = async (args: string[]): Promise<DnfRun> => {
    runs += 1;
    const installroot = join(test.work, `installroot-${runs}`);
    return { ...(await runDnf(installroot, args)), installroot };
  };

  /** Core dnf's download (no dnf-plugins-core): resolve and fetch into `destdir`, install nothing. */
  const downloadWithRepo = async (packages: readonly TestPackage[]) => {
    const destdir = join(test.work, `download-${runs + 1}`);
    const repo = [`--repofrompath=r,${stackUrl()}/${REPO}`, '--repo=r'];
    const result = await dnf([
      ...repo,
      'install',
      '--downloadonly',
      `--downloaddir=${destdir}`,
      ...packages.map((pkg) => pkg.name),
    ]);
    return { ...result, destdir };
  };

  /** The URL as a lockfile holds it: dnf 4 percent-encodes a command-line URL itself. */
  const packageUrl = (pkg: TestPackage) => `${stackUrl()}/${packagePath(pkg)}`;
  /** The same URL encoded as dnf sends it on the wire (`%2b%2b`, `%5e`). */
  const encodedUrl = (pkg: TestPackage) =>
    `${stackUrl()}/${REPO}/Packages/${encodeURIComponent(rpmFileName(pkg)).replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase())}`;

  const cachedObject = async (pkg: TestPackage): Promise<Buffer | undefined> => {
    try {
      const object = await s3.send(
        new GetObjectCommand({ Bucket: test.stack.bucketName, Key: `cache/${packagePath(pkg)}` }),
      );
      return Buffer.from((await object.Body?.transformToByteArray()) ?? []);
    } catch {
      return undefined;
    }
  };

  const waitForCachedObject = async (pkg: TestPackage, deadlineMs = 15_000): Promise<Buffer | undefined> => {
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

  /** A request through the stack while origin serves them (a miss uploads), then the copies in S3. */
  const ensureCached = async (packages: readonly TestPackage[]) => {
    for (const pkg of packages) {
      if ((await cachedObject(pkg)) !== undefined) continue;
      expect(await redirectFor(encodedUrl(pkg))).toMatchObject({ status: 302, xCache: 'miss' });
      expect(await waitForCachedObject(pkg)).toEqual(originals.get(pkg.name));
    }
  };

  beforeAll(async () => {
    await requireE2eTools();
    // A stack loads the Lambda code with its environment: each front door's loads it afresh.
    jest.resetModules();
    test = await startTestStack({
      HOST: '127.0.0.1',
      ORIGIN_HEAD_TIMEOUT: '1',
      S3_BUCKET_NAME: 'rpm-cache-e2e',
      FRONT_DOOR: frontDoor,
    });
    expect(test.stack.frontDoor).toBe(frontDoor);
    s3 = stackS3Client(test.stack);
    const mirrorDir = join(test.work, 'mirror');
    for (const pkg of [...FRESH, ...CACHED, NEVER_ASKED, UNCACHED_WHILE_STALLED, UNCACHED_WHILE_DOWN]) {
      const rpm = await buildRpm(pkg, join(test.work, 'build'), join(mirrorDir, REPO, 'Packages'));
      originals.set(pkg.name, await readFile(rpm));
    }
    await createRepo(join(mirrorDir, REPO));
    mirror = await readTree(mirrorDir);
  });

  beforeEach(async () => {
    // The whole mirror, answering.
    await origin().reopen();
    origin().reset();
    for (const [path, bytes] of mirror) origin().files.set(path, bytes);
    await test.originSeenUp();
  });

  afterAll(async () => {
    s3?.destroy();
    await test?.close();
  });

  it('hands a path over as its front door does', async () => {
    const redirect = await redirectFor(`${stackUrl()}/${REPO}/x%2525y.txt`);

    expect(redirect).toMatchObject({ status: 302, xCache: 'bypass' });
    expect(redirect.location).toBe(`${origin().baseUrl}/${REPO}/${percentName}`);
  });

  describe('origin up, RPMs not cached', () => {
    it('dnf gets the RPMs from origin, then they appear in S3 byte-identical', async () => {
      const result = await downloadWithRepo(FRESH);

      expect(result).toMatchObject({ code: 0 });
      for (const pkg of FRESH) {
        expect(await readFile(join(result.destdir, rpmFileName(pkg)))).toEqual(originals.get(pkg.name));
        expect(await waitForCachedObject(pkg)).toEqual(originals.get(pkg.name));
      }
      // dnf sends `%2b%2b` and `%5e`; origin is asked for the same file, encoded once.
      expect(
        origin()
          .requestsFor('GET')
          .map((request) => request.url),
      ).toContain(`/${REPO}/Packages/fresh-c++-1.0%5E20260101git-1.noarch.rpm`);
      expect(await cachedObject(NEVER_ASKED)).toBeUndefined();
    });
  });

  describe('the mirror drops cached RPMs', () => {
    beforeEach(async () => {
      await ensureCached(CACHED);
      for (const pkg of CACHED) origin().files.delete(packagePath(pkg));
      origin().requests.length = 0;
    });

    it('dnf with the old repodata still downloads them, from S3', async () => {
      const result = await downloadWithRepo(CACHED);

      expect(result).toMatchObject({ code: 0 });
      for (const pkg of CACHED) {
        expect(await readFile(join(result.destdir, rpmFileName(pkg)))).toEqual(originals.get(pkg.name));
        const redirect = await redirectFor(encodedUrl(pkg));
        expect(redirect).toMatchObject({ status: 302, xCache: 'hit' });
        expect(new URL(redirect.location).origin).toBe(test.stack.s3Endpoint);
      }
      expect(
        origin()
          .requestsFor('GET')
          .filter((request) => request.url.includes('/Packages/')),
      ).toEqual([]);
    });

    it('a dropped RPM installs from its exact URL', async () => {
      const [cpp] = CACHED;
      if (cpp === undefined) throw new Error('no package');
      const result = await dnf(['--disablerepo=*', 'install', packageUrl(cpp)]);

      expect(result).toMatchObject({ code: 0 });
      expect(await readFile(join(result.installroot, 'usr/share/rpm-cache-e2e/demo-c++.txt'), 'utf8')).toBe(
        'demo-c++ 1.0^20260101git\n',
      );
    });

    it('logs the hit, and never a presigned query', async () => {
      test.logs.clear();
      for (const pkg of CACHED) expect(await redirectFor(encodedUrl(pkg))).toMatchObject({ xCache: 'hit' });

      const hits = test.logs.linesOf('request').filter((line) => line.outcome === 'hit');
      expect(hits.map((line) => line.path)).toEqual(CACHED.map(packagePath));
      expect(test.logs.text()).not.toContain('X-Amz-Signature=');
    });
  });

  // Through the HTTP API only (see the top of the file): they test what happens after the path is read.
  if (!originFaults) return;
  describe.each([
    [
      'stalls past ORIGIN_HEAD_TIMEOUT',
      () => {
        origin().defaultBehaviour = { kind: 'stall' };
      },
      UNCACHED_WHILE_STALLED,
    ],
    ['is down (connection refused)', () => origin().close(), UNCACHED_WHILE_DOWN],
  ])('origin %s', (_name, breakOrigin, uncached) => {
    beforeEach(async () => {
      await ensureCached(CACHED);
      await breakOrigin();
    });

    it('cached RPMs still install from their URLs, within the HEAD timeout', async () => {
      for (const pkg of CACHED) {
        const redirect = await redirectFor(encodedUrl(pkg));
        expect(redirect).toMatchObject({ status: 302, xCache: 'hit' });
        expect(redirect.ms).toBeLessThan(1000 + 1000);

        const result = await dnf(['--disablerepo=*', 'install', packageUrl(pkg)]);
        expect(result).toMatchObject({ code: 0 });
      }
    });

    it('an uncached RPM fails as it would without the cache', async () => {
      const redirect = await redirectFor(encodedUrl(uncached));
      expect(redirect).toMatchObject({ status: 302, xCache: 'miss' });
      expect(redirect.location).toBe(`${origin().baseUrl}/${packagePath(uncached)}`);

      const result = await dnf(['--disablerepo=*', 'install', packageUrl(uncached)]);
      expect(result.code).not.toBe(0);
    });
  });
});
