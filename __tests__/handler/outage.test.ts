/**
 * decideRedirect on a bad day: repository metadata from snapshots, an origin
 * assumed offline, files the origin lost, HEAD requests. S3 and Lambda are
 * mocked at the SDK (the S3 contract), the origin is a real HTTP server.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { parseHandlerConfig } from '../../src/commons/config.js';
import type { SnapshotManifest } from '../../src/commons/snapshot-manifest.js';
import { OriginHealth } from '../../src/handler/origin-health.js';
import { createRedirectMemo } from '../../src/handler/recent-keys.js';
import { decideRedirect } from '../../src/handler/redirect.js';
import { notFound, objectBody } from '../helpers/aws.js';
import { OriginServer } from '../helpers/origin-server.js';

const REPO = 'pub/fedora/linux/updates/44/Everything/x86_64/';
const REPOMD = `${REPO}repodata/repomd.xml`;
const PRIMARY_SUM = 'b'.repeat(64);
const PRIMARY = `${REPO}repodata/${PRIMARY_SUM}-primary.xml.gz`;
const PACKAGE = `${REPO}Packages/h/hello-1.0-1.fc44.x86_64.rpm`;
const ID = 'a'.repeat(64);
const MANIFEST: SnapshotManifest = {
  id: ID,
  createdAt: '2026-12-01T00:00:00.000Z',
  validators: { etag: '"repomd-v1"', contentLength: 3 },
  files: {
    'repodata/repomd.xml': { key: `snapshots/blobs/${REPO}repodata/sha256-${ID}`, contentNamed: false },
    [`repodata/${PRIMARY_SUM}-primary.xml.gz`]: {
      key: `snapshots/blobs/${REPO}repodata/sha256-${PRIMARY_SUM}`,
      contentNamed: true,
    },
    'repodata/comps.xml': { key: `snapshots/blobs/${REPO}repodata/sha256-${'c'.repeat(64)}`, contentNamed: false },
    'repodata/repomd.xml.asc': { key: `snapshots/blobs/${REPO}repodata/sha256-${'d'.repeat(64)}`, contentNamed: false },
  },
  absent: ['repodata/repomd.xml.key'],
  settled: true,
};
const keyOfFile = (file: string) => `/rpm-cache-bucket/${MANIFEST.files[file]?.key}`;

const manifestObject = (manifest: SnapshotManifest) => ({
  Body: objectBody(JSON.stringify(manifest)),
  ETag: '"manifest"',
});

describe('decideRedirect during an outage', () => {
  const s3Mock = mockClient(S3Client);
  const lambdaMock = mockClient(LambdaClient);
  const s3 = new S3Client({
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' },
  });
  const lambda = new LambdaClient({});
  let origin: OriginServer;

  const deps = (overrides: Record<string, string> = {}) => ({
    config: parseHandlerConfig({
      S3_BUCKET_NAME: 'rpm-cache-bucket',
      UPLOADER_LAMBDA_ARN: 'rpm-cache-uploader',
      ORIGIN_HOST: origin.baseUrl,
      ORIGIN_HEAD_TIMEOUT: '0.3',
      ...overrides,
    }),
    s3,
    lambda,
  });
  const invokedPaths = () =>
    lambdaMock
      .commandCalls(InvokeCommand)
      .map((call) => JSON.parse(new TextDecoder().decode(call.args[0].input.Payload as Uint8Array)).path);
  const keyOf = (location: string | undefined) => decodeURIComponent(new URL(location ?? '').pathname);

  beforeEach(async () => {
    s3Mock.reset();
    lambdaMock.reset();
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 202 });
    s3Mock.on(GetObjectCommand).callsFake(() => manifestObject(MANIFEST));
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 3 });
    origin = await OriginServer.start();
  });

  afterEach(async () => {
    await origin.close();
  });

  describe('repomd.xml', () => {
    it('is "stored" when the origin serves the snapshot’s version (same ETag), and triggers nothing', async () => {
      origin.behaviours.set(REPOMD, { kind: 'status', status: 200, headers: { etag: '"repomd-v1"' } });

      const decision = await decideRedirect(REPOMD, deps());

      expect(decision).toMatchObject({ outcome: 'stored', location: `${origin.baseUrl}/${REPOMD}`, originStatus: 200 });
      expect(s3Mock.commandCalls(GetObjectCommand)[0]?.args[0].input).toEqual({
        Bucket: 'rpm-cache-bucket',
        Key: `snapshots/current/${REPOMD}`,
      });
      expect(lambdaMock.calls()).toHaveLength(0);
    });

    it('is a "miss" that triggers one snapshot when the origin serves another version', async () => {
      origin.behaviours.set(REPOMD, { kind: 'status', status: 200, headers: { etag: '"repomd-v2"' } });
      const memo = createRedirectMemo();

      const first = await decideRedirect(REPOMD, { ...deps(), memo }, { requestId: 'req-1' });
      const second = await decideRedirect(REPOMD, { ...deps(), memo });

      expect(first).toMatchObject({ outcome: 'miss', uploadTriggered: true, location: `${origin.baseUrl}/${REPOMD}` });
      expect(second).toMatchObject({ outcome: 'miss', uploadTriggered: false, uploadAlreadyTriggered: true });
      expect(invokedPaths()).toEqual([REPOMD]);
    });

    it('is a "miss" that triggers the first snapshot of a repository the cache has none of', async () => {
      s3Mock.on(GetObjectCommand).rejects(notFound());
      origin.behaviours.set(REPOMD, { kind: 'status', status: 200 });

      expect(await decideRedirect(REPOMD, deps())).toMatchObject({ outcome: 'miss', uploadTriggered: true });
      expect(invokedPaths()).toEqual([REPOMD]);
    });

    it.each([
      ['answers 503', { kind: 'status', status: 503 } as const, 503],
      ['answers 404 (a release moved away)', { kind: 'status', status: 404 } as const, 404],
      ['hangs', { kind: 'stall' } as const, 'timeout'],
    ])('is served "stale" from the last complete snapshot when the origin %s', async (_name, behaviour, status) => {
      origin.defaultBehaviour = behaviour;

      const decision = await decideRedirect(REPOMD, deps());

      expect(decision).toMatchObject({
        outcome: 'stale',
        originStatus: status,
        originHeadMs: expect.any(Number),
        cached: true,
        staleReason: 'origin-failed',
      });
      expect(keyOf(decision.location)).toBe(keyOfFile('repodata/repomd.xml'));
      expect(lambdaMock.calls()).toHaveLength(0);
    });

    it('goes to origin, uncached, when the origin fails and there is no snapshot', async () => {
      s3Mock.on(GetObjectCommand).rejects(notFound());
      origin.defaultBehaviour = { kind: 'status', status: 503 };

      expect(await decideRedirect(REPOMD, deps())).toMatchObject({
        outcome: 'miss',
        location: `${origin.baseUrl}/${REPOMD}`,
        uploadTriggered: false,
      });
    });
  });

  describe('files a snapshot lists, and repomd.xml’s companions', () => {
    it('serves a listed file from the snapshot when the origin cannot, whatever its extension', async () => {
      origin.defaultBehaviour = { kind: 'status', status: 503 };

      const decision = await decideRedirect(PRIMARY, deps());

      expect(decision).toMatchObject({ outcome: 'hit', originStatus: 503 });
      expect(keyOf(decision.location)).toBe(keyOfFile(`repodata/${PRIMARY_SUM}-primary.xml.gz`));
    });

    it('sends a listed file to origin while the origin has it, triggering nothing', async () => {
      origin.files.set(PRIMARY, Buffer.from('gz'));

      expect(await decideRedirect(PRIMARY, deps())).toMatchObject({
        outcome: 'stored',
        location: `${origin.baseUrl}/${PRIMARY}`,
      });
      expect(lambdaMock.calls()).toHaveLength(0);
    });

    it('answers 404 for a companion the origin did not have when the snapshot was taken', async () => {
      origin.defaultBehaviour = { kind: 'stall' };

      const decision = await decideRedirect(`${REPO}repodata/repomd.xml.key`, deps());

      expect(decision).toMatchObject({ outcome: 'stale', location: undefined, originStatus: 'timeout' });
    });

    it('serves a companion the snapshot holds as stale', async () => {
      origin.defaultBehaviour = { kind: 'status', status: 502 };

      const decision = await decideRedirect(`${REPO}repodata/repomd.xml.asc`, deps());

      expect(decision).toMatchObject({ outcome: 'stale', originStatus: 502 });
      expect(keyOf(decision.location)).toBe(keyOfFile('repodata/repomd.xml.asc'));
    });
  });

  describe('HEAD', () => {
    it('gets a stored copy’s URL signed for HEAD, and triggers the upload a GET would', async () => {
      origin.defaultBehaviour = { kind: 'status', status: 404 };
      origin.behaviours.set(PACKAGE, { kind: 'status', status: 200 });
      s3Mock.on(HeadObjectCommand).rejects(notFound());

      const cached = decideRedirect(REPOMD, deps(), { method: 'HEAD' });
      const uncached = decideRedirect(PACKAGE, deps(), { method: 'HEAD' });

      const decision = await cached;
      expect(decision.outcome).toBe('stale');
      const url = new URL(decision.location ?? '');
      expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host');
      // The method is part of what SigV4 signs: a GET URL differs.
      const asGet = await decideRedirect(REPOMD, deps(), { method: 'GET' });
      expect(new URL(asGet.location ?? '').searchParams.get('X-Amz-Signature')).not.toBe(
        url.searchParams.get('X-Amz-Signature'),
      );
      expect(await uncached).toMatchObject({ outcome: 'miss', uploadTriggered: true });
      expect(invokedPaths()).toEqual([PACKAGE]);
    });

    it('triggers a snapshot as a GET would (zypper HEADs repomd.xml first)', async () => {
      s3Mock.on(GetObjectCommand).rejects(notFound());
      origin.behaviours.set(REPOMD, { kind: 'status', status: 200 });

      expect(await decideRedirect(REPOMD, deps(), { method: 'HEAD' })).toMatchObject({
        outcome: 'miss',
        uploadTriggered: true,
      });
      expect(invokedPaths()).toEqual([REPOMD]);
    });
  });

  describe('the stored copy itself (?rpm-cache=stored)', () => {
    it('is served without asking the origin, even while the origin has the file', async () => {
      origin.files.set(PACKAGE, Buffer.from('rpm'));

      const decision = await decideRedirect(PACKAGE, deps(), { want: 'stored' });

      expect(decision).toMatchObject({ outcome: 'hit', originStatus: 'not-asked', cached: true });
      expect(decision).not.toHaveProperty('staleReason');
      expect(keyOf(decision.location)).toBe(`/rpm-cache-bucket/cache/${PACKAGE}`);
      expect(origin.requests).toHaveLength(0);
      expect(lambdaMock.calls()).toHaveLength(0);
    });

    it('is a 404 when the cache holds none', async () => {
      s3Mock.on(HeadObjectCommand).rejects(notFound());

      expect(await decideRedirect(PACKAGE, deps(), { want: 'stored' })).toEqual({
        outcome: 'miss',
        location: undefined,
        notStored: true,
        originStatus: 'not-asked',
        cached: false,
        uploadTriggered: false,
        origin: 'default',
      });
      expect(origin.requests).toHaveLength(0);
    });
  });

  describe('an origin assumed offline', () => {
    it('after one HEAD timeout, answers from the cache at once without asking the origin', async () => {
      origin.defaultBehaviour = { kind: 'stall' };
      const health = new OriginHealth(60_000);
      const first = await decideRedirect(PACKAGE, { ...deps(), health: () => health });
      const headsBefore = origin.requestsFor('HEAD').length;

      const started = performance.now();
      const answers = [];
      for (const path of [PACKAGE, REPOMD, PRIMARY])
        answers.push(await decideRedirect(path, { ...deps(), health: () => health }));
      const elapsed = performance.now() - started;

      expect(first).toMatchObject({ outcome: 'hit', originStatus: 'timeout' });
      expect(answers.map((answer) => [answer.outcome, answer.originStatus, answer.staleReason])).toEqual([
        ['hit', 'assumed-offline', 'assumed-offline'],
        ['stale', 'assumed-offline', 'assumed-offline'],
        ['hit', 'assumed-offline', 'assumed-offline'],
      ]);
      expect(elapsed).toBeLessThan(300);
      await new Promise((resolve) => setTimeout(resolve, 100));
      // One recovery probe, which no request waited for.
      expect(origin.requestsFor('HEAD').length - headsBefore).toBe(1);
    });

    it('sends what has no stored copy to origin, without a HEAD or an upload', async () => {
      origin.defaultBehaviour = { kind: 'stall' };
      const health = new OriginHealth(60_000);
      await decideRedirect(PACKAGE, { ...deps(), health: () => health });
      s3Mock.on(HeadObjectCommand).rejects(notFound());
      lambdaMock.resetHistory();

      const decision = await decideRedirect(`${REPO}Packages/n/new-1.0-1.noarch.rpm`, {
        ...deps(),
        health: () => health,
      });

      expect(decision).toEqual({
        outcome: 'miss',
        location: `${origin.baseUrl}/${REPO}Packages/n/new-1.0-1.noarch.rpm`,
        originStatus: 'assumed-offline',
        cached: false,
        uploadTriggered: false,
        origin: 'default',
      });
      expect(lambdaMock.calls()).toHaveLength(0);
    });

    it('is not tripped by a 5xx or a refused connection, which cost no time', async () => {
      origin.defaultBehaviour = { kind: 'status', status: 503 };
      const health = new OriginHealth(60_000);

      await decideRedirect(PACKAGE, { ...deps(), health: () => health });

      expect(health.assumedOffline()).toBe(false);
    });

    it('ends when the recovery probe gets an answer', async () => {
      origin.defaultBehaviour = { kind: 'stall' };
      const health = new OriginHealth(60_000);
      await decideRedirect(PACKAGE, { ...deps(), health: () => health });
      origin.defaultBehaviour = undefined;
      origin.files.set(PACKAGE, Buffer.from('rpm'));

      await decideRedirect(PACKAGE, { ...deps(), health: () => health });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const after = await decideRedirect(PACKAGE, { ...deps(), health: () => health });

      expect(health.assumedOffline()).toBe(false);
      expect(after).toMatchObject({ outcome: 'stored', originStatus: 200 });
    });
  });

  describe('a file the origin lost', () => {
    it('is served from the cache without another HEAD while remembered', async () => {
      origin.defaultBehaviour = { kind: 'status', status: 404 };
      const memo = createRedirectMemo(Date.now, 60_000);

      const first = await decideRedirect(PACKAGE, { ...deps(), memo });
      const second = await decideRedirect(PACKAGE, { ...deps(), memo });

      expect(first).toMatchObject({ outcome: 'hit', originStatus: 404 });
      expect(second).toMatchObject({ outcome: 'hit', originStatus: 'lost', staleReason: 'origin-lost' });
      expect(origin.requestsFor('HEAD')).toHaveLength(1);
    });

    it('is asked about again once forgotten (ORIGIN_LOST_TTL)', async () => {
      origin.defaultBehaviour = { kind: 'status', status: 410 };
      let now = 0;
      const memo = createRedirectMemo(() => now, 1000);

      await decideRedirect(PACKAGE, { ...deps(), memo });
      now = 1001;
      const later = await decideRedirect(PACKAGE, { ...deps(), memo });

      expect(later).toMatchObject({ outcome: 'hit', originStatus: 410 });
      expect(origin.requestsFor('HEAD')).toHaveLength(2);
    });

    it('is not remembered for repository metadata, which comes back with the next sync', async () => {
      origin.defaultBehaviour = { kind: 'status', status: 404 };
      const memo = createRedirectMemo(Date.now, 60_000);

      await decideRedirect(REPOMD, { ...deps(), memo });
      const again = await decideRedirect(REPOMD, { ...deps(), memo });

      expect(again).toMatchObject({ outcome: 'stale', originStatus: 404 });
      expect(origin.requestsFor('HEAD')).toHaveLength(2);
    });

    it('is not remembered when the origin failed otherwise (a 503 may pass)', async () => {
      origin.defaultBehaviour = { kind: 'status', status: 503 };
      const memo = createRedirectMemo(Date.now, 60_000);

      await decideRedirect(PACKAGE, { ...deps(), memo });
      await decideRedirect(PACKAGE, { ...deps(), memo });

      expect(origin.requestsFor('HEAD')).toHaveLength(2);
    });
  });
});
