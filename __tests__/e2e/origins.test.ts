/**
 * Several origins in one deployment, end to end with real dnf: two origins
 * whose trees hold the same file names with different bytes, each a dnf
 * repository through the cache (`<cache>/a/`, `<cache>/b/`), and a mirror of
 * the first that has a file the first lost.
 */
import { mkdir, mkdtemp, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OriginServer } from '../helpers/origin-server.js';
import { dnfDownload } from '../helpers/package-clients.js';
import {
  buildRpm,
  createRepo,
  readTree,
  requireE2eTools,
  rpmFileName,
  type TestPackage,
} from '../helpers/rpm-fixtures.js';
import { startTestStack, type TestStack } from '../helpers/test-stack.js';

const SHARED: TestPackage = { name: 'shared', version: '1.0', release: '1' };
const MIRRORED: TestPackage = { name: 'mirrored', version: '1.0', release: '1' };

describe('dnf through one cache in front of two origins and a mirror', () => {
  let test: TestStack;
  let originA: OriginServer;
  let mirrorA: OriginServer;
  let originB: OriginServer;
  /** Each origin's tree as built (path in the repository → bytes). */
  const trees = new Map<string, Map<string, Buffer>>();
  let runs = 0;

  /** Builds a repository of `packages` (fresh bytes each build) under `name`. */
  const buildRepository = async (name: string, packages: readonly TestPackage[]) => {
    const repo = join(test.work, `repo-${name}`);
    await mkdir(join(repo, 'Packages'), { recursive: true });
    for (const pkg of packages)
      await buildRpm(pkg, join(test.work, `build-${name}`), join(repo, 'Packages'), { payloadBytes: 4096 });
    await createRepo(repo);
    const tree = await readTree(repo);
    trees.set(name, tree);
    return tree;
  };
  const serve = (server: OriginServer, base: string, tree: Map<string, Buffer>, except: readonly string[] = []) => {
    for (const [path, bytes] of tree) if (!except.includes(path)) server.files.set(`${base}/${path}`, bytes);
  };
  const download = async (origin: string, names: readonly string[]) => {
    runs += 1;
    const root = await mkdtemp(join(test.work, `dnf-${runs}-`));
    const downloadDir = join(root, 'downloads');
    const result = await dnfDownload(
      { installroot: join(root, 'root'), baseUrl: `${test.stack.url}/${origin}/`, downloadDir },
      names,
    );
    const files = new Map<string, Buffer>();
    for (const file of await readdir(downloadDir).catch(() => []))
      files.set(file, await readFile(join(downloadDir, file)));
    return { ...result, files };
  };
  /** Waits until the cache has `path` (`stored`, or `hit` once the first URL lost it): the upload a miss triggered has landed. */
  const cached = async (path: string) => {
    const deadline = Date.now() + 20_000;
    while (
      !['stored', 'hit'].includes(
        (await fetch(`${test.stack.url}/${path}`, { method: 'HEAD', redirect: 'manual' })).headers.get('x-cache') ?? '',
      )
    ) {
      if (Date.now() > deadline) throw new Error(`${path} was not cached within 20 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const bytesOf = (origin: string, pkg: TestPackage) => trees.get(origin)?.get(`Packages/${rpmFileName(pkg)}`);

  beforeAll(async () => {
    await requireE2eTools(['rpmbuild', 'createrepo_c', 'dnf']);
    originA = await OriginServer.start();
    mirrorA = await OriginServer.start();
    originB = await OriginServer.start();
    test = await startTestStack({
      ORIGINS: `a=${originA.baseUrl}/pub/a,${mirrorA.baseUrl}/mirror/a b=${originB.baseUrl}/b`,
      ORIGIN_HEAD_TIMEOUT: '1',
    });
    const a = await buildRepository('a', [SHARED, MIRRORED]);
    const b = await buildRepository('b', [SHARED]);
    serve(originA, 'pub/a', a, [`Packages/${rpmFileName(MIRRORED)}`]);
    serve(mirrorA, 'mirror/a', a);
    serve(originB, 'b', b);
  }, 180_000);

  afterAll(async () => {
    for (const server of [originA, mirrorA, originB]) await server?.close();
    await test?.close();
  });

  it('gives each origin its own bytes for the same file name, with the origins up and after both dropped it', async () => {
    const fromA = await download('a', ['shared']);
    const fromB = await download('b', ['shared']);

    expect(fromA.code).toBe(0);
    expect(fromB.code).toBe(0);
    expect(bytesOf('a', SHARED)).not.toEqual(bytesOf('b', SHARED));
    expect(fromA.files.get(rpmFileName(SHARED))).toEqual(bytesOf('a', SHARED));
    expect(fromB.files.get(rpmFileName(SHARED))).toEqual(bytesOf('b', SHARED));

    await cached(`a/Packages/${rpmFileName(SHARED)}`);
    await cached(`b/Packages/${rpmFileName(SHARED)}`);
    originA.files.delete(`pub/a/Packages/${rpmFileName(SHARED)}`);
    mirrorA.files.delete(`mirror/a/Packages/${rpmFileName(SHARED)}`);
    originB.files.delete(`b/Packages/${rpmFileName(SHARED)}`);

    const droppedA = await download('a', ['shared']);
    const droppedB = await download('b', ['shared']);

    expect(droppedA.code).toBe(0);
    expect(droppedB.code).toBe(0);
    expect(droppedA.files.get(rpmFileName(SHARED))).toEqual(bytesOf('a', SHARED));
    expect(droppedB.files.get(rpmFileName(SHARED))).toEqual(bytesOf('b', SHARED));
  }, 120_000);

  it('serves a file the first URL lost from the mirror, caches it, and keeps serving it once the mirror drops it too', async () => {
    const fromMirror = await download('a', ['mirrored']);

    expect(fromMirror.code).toBe(0);
    expect(fromMirror.files.get(rpmFileName(MIRRORED))).toEqual(bytesOf('a', MIRRORED));
    expect(mirrorA.requestsFor('GET').map((request) => request.url)).toContain(
      `/mirror/a/Packages/${rpmFileName(MIRRORED)}`,
    );

    await cached(`a/Packages/${rpmFileName(MIRRORED)}`);
    mirrorA.files.delete(`mirror/a/Packages/${rpmFileName(MIRRORED)}`);
    const afterwards = await download('a', ['mirrored']);

    expect(afterwards.code).toBe(0);
    expect(afterwards.files.get(rpmFileName(MIRRORED))).toEqual(bytesOf('a', MIRRORED));
  }, 120_000);

  it("keeps an origin's repository working from its own snapshot while that origin is down", async () => {
    const shared = `b/Packages/${rpmFileName(SHARED)}`;
    if (!originB.files.has(`b/Packages/${rpmFileName(SHARED)}`)) serve(originB, 'b', trees.get('b') ?? new Map());
    expect((await download('b', ['shared'])).code).toBe(0);
    await cached(shared);
    await cached('b/repodata/repomd.xml');
    await originB.close();
    try {
      const whileDown = await download('b', ['shared']);

      expect(whileDown.code).toBe(0);
      expect(whileDown.files.get(rpmFileName(SHARED))).toEqual(bytesOf('b', SHARED));
    } finally {
      await originB.reopen();
    }
  }, 120_000);
});
