/**
 * Rescue from archives (#26 item 3), the uploader's side, for real: cacheFromOrigin
 * against the local stack's embedded S3, an origin that lost the file and
 * archives (RESCUE_URLS) on 127.0.0.1. A copy is stored only when it passes the
 * upload's checks and has exactly the size and SHA-256 the cache knows (from a
 * snapshot of the repository, else from the request); a failure is recorded
 * under rescues/<path>.json and answers for an hour.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isS3NotFound } from '../../src/commons/aws-errors.js';
import { parseCacheConfig } from '../../src/commons/config.js';
import { cacheKey } from '../../src/commons/paths.js';
import {
  type Expectation,
  parseRescueRecord,
  RESCUE_RETRY_MS,
  type RescueRecord,
  rescueRecordKey,
} from '../../src/commons/rescue-request.js';
import { startEmbeddedS3 } from '../../src/local/stack.js';
import { takeSnapshot } from '../../src/uploader/snapshot/take.js';
import { cacheFromOrigin, type UploadDependencies } from '../../src/uploader/upload.js';
import { OriginServer } from '../helpers/origin-server.js';
import { primaryXml } from '../helpers/primary-xml.js';
import { repository } from '../helpers/repository.js';
import { localStoreClient } from '../helpers/s3rver.js';
import { syntheticRpmFor } from '../helpers/synthetic-rpm.js';

const BUCKET = 'rpm-cache-rescues';
const REPO = 'pub/fedora/linux/updates/44/Everything/x86_64/';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const fileOf = (path: string) => path.slice(path.lastIndexOf('/') + 1);
const expectationOf = (bytes: Buffer, extra: Partial<Expectation> = {}): Expectation => ({
  sha256: sha256(bytes),
  size: bytes.length,
  ...extra,
});

describe('cacheFromOrigin with RESCUE_URLS', () => {
  let work: string;
  let store: Awaited<ReturnType<typeof startEmbeddedS3>>;
  let s3: S3Client;
  let origin: OriginServer;
  let archive: OriginServer;
  let count = 0;

  /** An RPM path no other test used (records and cached copies are per path), in `repoDir`. */
  const freshPath = (repoDir = REPO) => {
    count += 1;
    return `${repoDir}Packages/g/gadget-2.${count}-3.fc44.x86_64.rpm`;
  };

  const deps = (
    templates: readonly string[],
    expected?: Expectation,
    env: Record<string, string> = {},
  ): UploadDependencies => ({
    config: parseCacheConfig({
      S3_BUCKET_NAME: BUCKET,
      ORIGIN_HOST: origin.baseUrl,
      RESCUE_URLS: templates.join(' '),
      ...env,
    }),
    s3,
    originIdleTimeoutMs: 2000,
    ...(expected === undefined ? {} : { expected }),
  });

  const read = async (key: string): Promise<Buffer | undefined> => {
    try {
      const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      return Buffer.from((await object.Body?.transformToByteArray()) ?? []);
    } catch (error) {
      if (isS3NotFound(error)) return undefined;
      throw error;
    }
  };
  const stored = (path: string) => read(cacheKey(path));
  const record = async (path: string): Promise<RescueRecord | undefined> => {
    const bytes = await read(rescueRecordKey(path));
    return bytes === undefined ? undefined : parseRescueRecord(bytes.toString('utf8'));
  };
  const archiveGets = () => archive.requestsFor('GET').map((request) => request.url);

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'rpm-cache-rescue-'));
    store = await startEmbeddedS3(join(work, 'data'), BUCKET);
    s3 = localStoreClient(store.endpoint);
    origin = await OriginServer.start();
    archive = await OriginServer.start();
  });

  afterAll(async () => {
    s3.destroy();
    await archive.close();
    await origin.close();
    await store.close();
    await rm(work, { recursive: true, force: true });
  });

  beforeEach(() => {
    origin.reset();
    archive.reset();
  });

  describe('with the checksum from the request', () => {
    it('stores the archive copy with the named bytes, byte for byte, saying where it came from', async () => {
      const path = freshPath();
      const bytes = syntheticRpmFor(path, { payloadBytes: 20_000 });
      archive.files.set(`pool/g/${fileOf(path)}`, bytes);

      const result = await cacheFromOrigin(
        path,
        deps([`${archive.baseUrl}/pool/{first}/{file}`], expectationOf(bytes)),
      );

      expect(result).toMatchObject({
        outcome: 'rescued',
        bytes: bytes.length,
        sourceUrl: `${archive.baseUrl}/pool/g/${fileOf(path)}`,
        knownFrom: 'the request',
      });
      expect(await stored(path)).toEqual(bytes);
      expect(origin.requestsFor('GET').map((request) => request.url)).toEqual([`/${path}`]);
      expect(archiveGets()).toEqual([`/pool/g/${fileOf(path)}`]);
      expect(await record(path)).toBeUndefined();
      // The next request finds it stored: neither the origin nor the archive is asked again.
      expect(
        await cacheFromOrigin(path, deps([`${archive.baseUrl}/pool/{first}/{file}`], expectationOf(bytes))),
      ).toEqual({
        outcome: 'already-cached',
      });
      expect(archiveGets()).toHaveLength(1);
    });

    it('rescues a file the origin answers 410 Gone for', async () => {
      const path = freshPath();
      const bytes = syntheticRpmFor(path);
      origin.behaviours.set(path, { kind: 'status', status: 410 });
      archive.files.set(fileOf(path), bytes);

      const result = await cacheFromOrigin(path, deps([`${archive.baseUrl}/{file}`], { sha256: sha256(bytes) }));

      expect(result).toMatchObject({ outcome: 'rescued', bytes: bytes.length });
      expect(await stored(path)).toEqual(bytes);
    });

    it('refuses an archive copy with other bytes (a valid RPM of the same name), storing nothing and recording why', async () => {
      const path = freshPath();
      const pinned = syntheticRpmFor(path, { payloadBytes: 3000 });
      const impostor = syntheticRpmFor(path, { payloadBytes: 3000 });
      archive.files.set(fileOf(path), impostor);
      const template = `${archive.baseUrl}/{file}`;

      const result = await cacheFromOrigin(path, deps([template], expectationOf(pinned)));

      const why = `sha256 ${sha256(impostor)} where the request lists ${sha256(pinned)}`;
      expect(result).toEqual({
        outcome: 'origin-missing',
        originStatus: 404,
        reason: `not rescued: no archive had sha256 ${sha256(pinned)} (known from the request): ${archive.baseUrl}/${fileOf(path)}: refused: ${why}`,
      });
      expect(await stored(path)).toBeUndefined();
      // The request's checksum: a request naming other bytes is tried at once.
      expect(await record(path)).toEqual({
        outcome: 'failed',
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        sha256: sha256(pinned),
        reason: expect.stringContaining(why),
      });
    });

    it('refuses a copy of another size than the request names', async () => {
      const path = freshPath();
      const bytes = syntheticRpmFor(path, { payloadBytes: 3000 });
      archive.files.set(fileOf(path), bytes);

      const result = await cacheFromOrigin(
        path,
        deps([`${archive.baseUrl}/{file}`], { sha256: sha256(bytes), size: bytes.length + 1 }),
      );

      expect(result).toMatchObject({
        outcome: 'origin-missing',
        reason: expect.stringContaining(
          `refused: it announces ${bytes.length} bytes where the request says ${bytes.length + 1}`,
        ),
      });
      expect(await stored(path)).toBeUndefined();
    });

    it("keeps the origin's status on a rescued file's result, and records archive trouble as passing", async () => {
      const path = freshPath();
      const bytes = syntheticRpmFor(path);
      archive.files.set(fileOf(path), bytes);
      expect(await cacheFromOrigin(path, deps([`${archive.baseUrl}/{file}`], expectationOf(bytes)))).toMatchObject({
        outcome: 'rescued',
        originStatus: 404,
      });

      const troubled = freshPath();
      archive.behaviours.set(fileOf(troubled), { kind: 'status', status: 503 });
      await cacheFromOrigin(troubled, deps([`${archive.baseUrl}/{file}`], expectationOf(bytes)));
      expect(await record(troubled)).toMatchObject({ transient: true });

      const missing = freshPath();
      await cacheFromOrigin(missing, deps([`${archive.baseUrl}/{file}`], expectationOf(bytes)));
      expect(await record(missing)).not.toHaveProperty('transient');
    });

    it("refuses bytes that are no RPM of the file's name, even with the named checksum", async () => {
      const path = freshPath();
      const page = Buffer.from('<html>Not here, but 200 OK</html>');
      archive.files.set(fileOf(path), page);

      const result = await cacheFromOrigin(path, deps([`${archive.baseUrl}/{file}`], expectationOf(page)));

      expect(result).toMatchObject({ outcome: 'origin-missing', reason: expect.stringContaining('refused: ') });
      expect(await stored(path)).toBeUndefined();
    });

    it('tries the templates in order and stores from the first that serves the bytes, asking no further', async () => {
      const path = freshPath();
      const bytes = syntheticRpmFor(path);
      archive.files.set(`second/${fileOf(path)}`, bytes);
      archive.files.set(`third/${fileOf(path)}`, bytes);
      const templates = ['first', 'second', 'third'].map((dir) => `${archive.baseUrl}/${dir}/{file}`);

      const result = await cacheFromOrigin(path, deps(templates, expectationOf(bytes)));

      expect(result).toMatchObject({ outcome: 'rescued', sourceUrl: `${archive.baseUrl}/second/${fileOf(path)}` });
      expect(archiveGets()).toEqual([`/first/${fileOf(path)}`, `/second/${fileOf(path)}`]);
    });

    it.each([
      ['answers 500', { kind: 'status', status: 500 } as const, / answered 500$/],
      ['answers 403', { kind: 'status', status: 403 } as const, / answered 403$/],
      ['sends the file gzip-compressed', undefined, /: sent Content-Encoding: gzip$/],
      ['cuts the body short', { kind: 'truncate', bytes: 500 } as const, /: origin (body failed after|sent) 500 /],
    ])('goes on to the next template when an archive %s', async (_what, behaviour, result) => {
      const path = freshPath();
      const bytes = syntheticRpmFor(path, { payloadBytes: 5000 });
      archive.files.set(`broken/${fileOf(path)}`, bytes);
      archive.behaviours.set(
        `broken/${fileOf(path)}`,
        behaviour ?? {
          kind: 'custom',
          respond: (_request, response) => {
            const body = gzipSync(bytes);
            response.writeHead(200, { 'content-length': String(body.length), 'content-encoding': 'gzip' });
            response.end(body);
          },
        },
      );
      archive.files.set(`good/${fileOf(path)}`, bytes);
      const templates = [`${archive.baseUrl}/broken/{file}`, `${archive.baseUrl}/good/{file}`];

      expect(await cacheFromOrigin(path, deps(templates, expectationOf(bytes)))).toMatchObject({
        outcome: 'rescued',
        sourceUrl: `${archive.baseUrl}/good/${fileOf(path)}`,
      });
      expect(await stored(path)).toEqual(bytes);

      // Alone, it fails the rescue with its answer, recorded.
      const alone = freshPath();
      archive.files.set(`broken/${fileOf(alone)}`, syntheticRpmFor(alone, { payloadBytes: 5000 }));
      archive.behaviours.set(
        `broken/${fileOf(alone)}`,
        archive.behaviours.get(`broken/${fileOf(path)}`) ?? { kind: 'reset' },
      );
      const failed = await cacheFromOrigin(alone, deps([templates[0] ?? ''], { sha256: 'a'.repeat(64) }));
      expect(failed).toMatchObject({ outcome: 'origin-missing', reason: expect.stringMatching(result) });
      expect(await record(alone)).toMatchObject({ reason: expect.stringMatching(result) });
    });

    it('skips a template needing the source package when the request names none, asking nobody for it', async () => {
      const path = freshPath();
      const bytes = syntheticRpmFor(path);
      archive.files.set(`pool/${fileOf(path)}`, bytes);
      const koji = `${archive.baseUrl}/packages/{source_name}/{source_version}/{source_release}/{arch}/{file}`;

      const result = await cacheFromOrigin(path, deps([koji, `${archive.baseUrl}/pool/{file}`], expectationOf(bytes)));

      expect(result).toMatchObject({ outcome: 'rescued', sourceUrl: `${archive.baseUrl}/pool/${fileOf(path)}` });
      expect(archiveGets()).toEqual([`/pool/${fileOf(path)}`]);
    });

    it('goes on to the next template when an archive stops sending in the middle of the body', async () => {
      const path = freshPath();
      const bytes = syntheticRpmFor(path, { payloadBytes: 5000 });
      archive.files.set(`slow/${fileOf(path)}`, bytes);
      archive.behaviours.set(`slow/${fileOf(path)}`, { kind: 'stall-body', bytes: 700 });
      archive.files.set(`good/${fileOf(path)}`, bytes);
      const templates = [`${archive.baseUrl}/slow/{file}`, `${archive.baseUrl}/good/{file}`];

      const result = await cacheFromOrigin(path, {
        ...deps(templates, expectationOf(bytes)),
        originIdleTimeoutMs: 300,
      });

      expect(result).toMatchObject({ outcome: 'rescued', sourceUrl: `${archive.baseUrl}/good/${fileOf(path)}` });
      expect(await stored(path)).toEqual(bytes);
    });

    it('never puts a source name of ".." into a URL: that template is skipped', async () => {
      const path = freshPath();
      const bytes = syntheticRpmFor(path);
      archive.files.set(`pool/${fileOf(path)}`, bytes);
      const templates = [`${archive.baseUrl}/packages/{source_name}/{file}`, `${archive.baseUrl}/pool/{file}`];

      const result = await cacheFromOrigin(
        path,
        deps(templates, expectationOf(bytes, { sourceRpm: '..-1-1.src.rpm' })),
      );

      expect(result).toMatchObject({ outcome: 'rescued', sourceUrl: `${archive.baseUrl}/pool/${fileOf(path)}` });
      expect(archiveGets()).toEqual([`/pool/${fileOf(path)}`]);
    });

    it('fails, naming the template, when every template needs a value the cache does not know', async () => {
      const path = freshPath();
      const bytes = syntheticRpmFor(path);
      const koji = `${archive.baseUrl}/packages/{source_name}/{file}`;

      const result = await cacheFromOrigin(path, deps([koji], expectationOf(bytes)));

      expect(result).toMatchObject({
        outcome: 'origin-missing',
        reason: expect.stringContaining(
          `${koji}: needs {source_name}, which the cache does not know (a lockfile entry's sourcerpm gives it)`,
        ),
      });
      expect(archive.requests).toEqual([]);
    });

    it("fills Koji's signed layout from the request's source RPM ({source_version}, {source_release}) and {first}", async () => {
      const path = freshPath();
      const bytes = syntheticRpmFor(path);
      const signed = `packages/gadget-suite/2.1/4.fc44/data/signed/6d9f90a6/g/x86_64/${fileOf(path)}`;
      archive.files.set(signed, bytes);
      const template = `${archive.baseUrl}/packages/{source_name}/{source_version}/{source_release}/data/signed/6d9f90a6/{first}/{arch}/{file}`;

      const result = await cacheFromOrigin(
        path,
        deps([template], expectationOf(bytes, { sourceRpm: 'gadget-suite-2.1-4.fc44.src.rpm' })),
      );

      expect(result).toMatchObject({ outcome: 'rescued', sourceUrl: `${archive.baseUrl}/${signed}` });
      expect(archiveGets()).toEqual([`/${signed}`]);
    });

    it('checks a cacheable file that is no RPM by its size and SHA-256 alone', async () => {
      const env = { CACHE_EXTENSIONS: '.rpm .iso' };
      const image = 'pub/images/Fedora-Cloud-44-1.2.x86_64.iso';
      const bytes = randomBytes(10_000);
      archive.files.set('images/Fedora-Cloud-44-1.2.x86_64.iso', bytes);
      const template = `${archive.baseUrl}/images/{file}`;

      expect(await cacheFromOrigin(image, deps([template], expectationOf(bytes), env))).toMatchObject({
        outcome: 'rescued',
        bytes: bytes.length,
      });
      expect(await stored(image)).toEqual(bytes);
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: cacheKey(image) }));
      expect(head.ContentType).toBe('application/octet-stream');

      const other = 'pub/images/Fedora-Cloud-44-1.3.x86_64.iso';
      archive.files.set('images/Fedora-Cloud-44-1.3.x86_64.iso', randomBytes(10_000));
      const refused = await cacheFromOrigin(other, deps([template], expectationOf(randomBytes(10_000)), env));
      expect(refused).toMatchObject({
        outcome: 'origin-missing',
        reason: expect.stringMatching(/refused: sha256 [0-9a-f]{64} where the request lists/),
      });
      expect(await stored(other)).toBeUndefined();
    });
  });

  describe('without a checksum', () => {
    it('never asks an archive for a file no snapshot lists and the request names nothing of, and records so', async () => {
      const path = freshPath();
      archive.files.set(fileOf(path), syntheticRpmFor(path));

      const result = await cacheFromOrigin(path, deps([`${archive.baseUrl}/{file}`]));

      expect(result).toEqual({
        outcome: 'origin-missing',
        originStatus: 404,
        reason: 'not rescued: the cache knows no checksum for this file (no snapshot lists it, the request named none)',
      });
      expect(archive.requests).toEqual([]);
      expect(await stored(path)).toBeUndefined();
      const written = await record(path);
      expect(written).toMatchObject({ outcome: 'failed', reason: expect.stringContaining('knows no checksum') });
      expect(written?.sha256).toBeUndefined();
    });

    it('tries at once when a request then names the bytes', async () => {
      const path = freshPath();
      const bytes = syntheticRpmFor(path);
      archive.files.set(fileOf(path), bytes);
      const templates = [`${archive.baseUrl}/{file}`];
      await cacheFromOrigin(path, deps(templates));

      expect(await cacheFromOrigin(path, deps(templates, expectationOf(bytes)))).toMatchObject({ outcome: 'rescued' });
    });
  });

  describe('with the checksum from a snapshot', () => {
    let repoCount = 0;
    /** A repository whose snapshots list `path` with `bytes`, then no longer (the first is history). */
    const repositoryThatDropped = async (bytes: (path: string) => Buffer) => {
      repoCount += 1;
      const repoDir = `pub/archive-test/${repoCount}/x86_64/`;
      const path = freshPath(repoDir);
      const href = path.slice(repoDir.length);
      const listed = bytes(path);
      const other = `Packages/o/other-1.0-1.fc44.noarch.rpm`;
      const otherBytes = syntheticRpmFor(other);
      const snapshotOf = async (rpms: Map<string, Buffer>, revision: string) => {
        const primary = gzipSync(primaryXml(rpms, { sourceOf: (name) => `${name}-suite` }));
        for (const [file, content] of repository(repoDir, { primary }, { revision })) origin.files.set(file, content);
        const taken = await takeSnapshot(`${repoDir}repodata/repomd.xml`, { config: deps([]).config, s3 });
        if (taken.outcome !== 'stored') throw new Error(`no snapshot: ${JSON.stringify(taken)}`);
      };
      await snapshotOf(
        new Map([
          [href, listed],
          [other, otherBytes],
        ]),
        '1',
      );
      await snapshotOf(new Map([[other, otherBytes]]), '2');
      return { repoDir, path, listed };
    };

    it('rescues a file an older snapshot listed, with no checksum in the request, from its source package', async () => {
      const { repoDir, path, listed } = await repositoryThatDropped((p) => syntheticRpmFor(p, { payloadBytes: 4000 }));
      const version = /gadget-(2\.\d+)-3/.exec(path)?.[1] ?? '';
      archive.files.set(`koji/gadget-suite/${version}/3.fc44/${fileOf(path)}`, listed);
      const template = `${archive.baseUrl}/koji/{source_name}/{source_version}/{source_release}/{file}`;

      const result = await cacheFromOrigin(path, deps([template]));

      expect(result).toMatchObject({
        outcome: 'rescued',
        knownFrom: `a snapshot of ${repoDir}`,
        bytes: listed.length,
        sourceUrl: `${archive.baseUrl}/koji/gadget-suite/${version}/3.fc44/${fileOf(path)}`,
      });
      expect(await stored(path)).toEqual(listed);
    });

    it("lets the snapshot's checksum win: an archive serving the request's other bytes is refused", async () => {
      const { repoDir, path, listed } = await repositoryThatDropped((p) => syntheticRpmFor(p));
      const requested = syntheticRpmFor(path);
      archive.files.set(fileOf(path), requested);

      const result = await cacheFromOrigin(path, deps([`${archive.baseUrl}/{file}`], expectationOf(requested)));

      expect(result).toMatchObject({
        outcome: 'origin-missing',
        reason: expect.stringContaining(
          `sha256 ${sha256(requested)} where a snapshot of ${repoDir} lists ${sha256(listed)}`,
        ),
      });
      expect(await stored(path)).toBeUndefined();
      expect(await record(path)).toMatchObject({ sha256: sha256(listed), fromSnapshot: true });
    });

    it("does not look again within the hour for the snapshot's bytes because a request names others", async () => {
      const { path, listed } = await repositoryThatDropped((p) => syntheticRpmFor(p));
      const templates = [`${archive.baseUrl}/{file}`];
      await cacheFromOrigin(path, deps(templates));
      expect(archiveGets()).toHaveLength(1);
      expect(await record(path)).toMatchObject({ sha256: sha256(listed) });

      const result = await cacheFromOrigin(path, deps(templates, { sha256: 'b'.repeat(64) }));

      expect(result).toMatchObject({
        outcome: 'origin-missing',
        reason: expect.stringMatching(/^not rescued: tried at /),
      });
      expect(archiveGets()).toHaveLength(1);
    });
  });

  describe('a recorded failure', () => {
    /** Makes the record of `path` `ageMs` old. */
    const age = async (path: string, ageMs: number) => {
      const written = await record(path);
      if (written === undefined) throw new Error(`no record for ${path}`);
      const at = new Date(Date.now() - ageMs).toISOString();
      await s3.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: rescueRecordKey(path), Body: JSON.stringify({ ...written, at }) }),
      );
    };

    it('keeps the archives from being asked again for the same bytes within the hour, then lets them be', async () => {
      const path = freshPath();
      const bytes = syntheticRpmFor(path);
      const templates = [`${archive.baseUrl}/{file}`];
      const first = await cacheFromOrigin(path, deps(templates, expectationOf(bytes)));
      expect(first).toMatchObject({ outcome: 'origin-missing', reason: expect.stringContaining('answered 404') });
      expect(archiveGets()).toHaveLength(1);
      const failedAt = (await record(path))?.at;

      // The archive has it now; the record still answers.
      archive.files.set(fileOf(path), bytes);
      const again = await cacheFromOrigin(path, deps(templates, expectationOf(bytes)));
      expect(again).toEqual({
        outcome: 'origin-missing',
        originStatus: 404,
        reason: `not rescued: tried at ${failedAt}: ${(await record(path))?.reason}`,
      });
      expect(archiveGets()).toHaveLength(1);

      await age(path, RESCUE_RETRY_MS - 60_000);
      expect(await cacheFromOrigin(path, deps(templates, expectationOf(bytes)))).toMatchObject({
        outcome: 'origin-missing',
      });
      expect(archiveGets()).toHaveLength(1);

      await age(path, RESCUE_RETRY_MS + 1000);
      expect(await cacheFromOrigin(path, deps(templates, expectationOf(bytes)))).toMatchObject({ outcome: 'rescued' });
      expect(archiveGets()).toHaveLength(2);
      expect(await stored(path)).toEqual(bytes);
    });

    it('does not keep a request naming other bytes from being tried', async () => {
      const path = freshPath();
      const bytes = syntheticRpmFor(path);
      const templates = [`${archive.baseUrl}/{file}`];
      archive.files.set(fileOf(path), bytes);
      await cacheFromOrigin(path, deps(templates, { sha256: 'c'.repeat(64) }));
      expect(archiveGets()).toHaveLength(1);

      expect(await cacheFromOrigin(path, deps(templates, expectationOf(bytes)))).toMatchObject({ outcome: 'rescued' });
      expect(archiveGets()).toHaveLength(2);
    });
  });

  describe('no rescue', () => {
    it('when the origin serves the file: stored from the origin, no archive asked, no record', async () => {
      const path = freshPath();
      const bytes = syntheticRpmFor(path);
      origin.files.set(path, bytes);
      archive.files.set(fileOf(path), bytes);

      const result = await cacheFromOrigin(path, deps([`${archive.baseUrl}/{file}`], expectationOf(bytes)));

      expect(result).toMatchObject({ outcome: 'stored', sourceUrl: `${origin.baseUrl}/${path}` });
      expect(result.knownFrom).toBeUndefined();
      expect(archive.requests).toEqual([]);
      expect(await record(path)).toBeUndefined();
    });

    it('when the origin fails otherwise (500): thrown for Lambda’s retry, no archive asked', async () => {
      const path = freshPath();
      origin.behaviours.set(path, { kind: 'status', status: 500 });
      const bytes = syntheticRpmFor(path);
      archive.files.set(fileOf(path), bytes);

      await expect(cacheFromOrigin(path, deps([`${archive.baseUrl}/{file}`], expectationOf(bytes)))).rejects.toThrow(
        'answered 500',
      );
      expect(archive.requests).toEqual([]);
    });

    it('without RESCUE_URLS: origin-missing as ever, no archive asked, no record', async () => {
      const path = freshPath();
      const bytes = syntheticRpmFor(path);
      archive.files.set(fileOf(path), bytes);

      expect(await cacheFromOrigin(path, deps([], expectationOf(bytes)))).toEqual({
        outcome: 'origin-missing',
        originStatus: 404,
      });
      expect(archive.requests).toEqual([]);
      expect(await record(path)).toBeUndefined();
    });
  });
});
