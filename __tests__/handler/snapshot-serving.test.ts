/**
 * Which snapshot serves a request for repository metadata: the decision table
 * itself, and decideRedirect against a real HTTP origin with S3 and Lambda
 * mocked at the SDK.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { parseHandlerConfig } from '../../src/commons/config.js';
import type { SnapshotManifest } from '../../src/commons/snapshot-manifest.js';
import { decideRedirect } from '../../src/handler/redirect.js';
import {
  type Holding,
  type OriginSays,
  type RepodataRole,
  servingRule,
} from '../../src/handler/snapshot/serving-rules.js';
import { objectBody } from '../helpers/aws.js';
import { OriginServer } from '../helpers/origin-server.js';

const REPO = 'pub/fedora/linux/updates/44/Everything/x86_64/';
const REPOMD = `${REPO}repodata/repomd.xml`;
const ASC = `${REPO}repodata/repomd.xml.asc`;
const KEY = `${REPO}repodata/repomd.xml.key`;
const COMPS = `${REPO}repodata/comps.xml`;
const OLD_SUM = 'e'.repeat(64);
const OLD_PRIMARY = `${REPO}repodata/${OLD_SUM}-primary.xml.gz`;
const blob = (fill: string) => `snapshots/blobs/${REPO}repodata/sha256-${fill.repeat(64)}`;

const MANIFEST: SnapshotManifest = {
  id: 'a'.repeat(64),
  createdAt: '2026-12-01T00:00:00Z',
  validators: { etag: '"repomd-v1"' },
  files: {
    'repodata/repomd.xml': { key: blob('a'), contentNamed: false },
    'repodata/repomd.xml.asc': { key: blob('b'), contentNamed: false },
    'repodata/comps.xml': { key: blob('c'), contentNamed: false },
  },
  absent: ['repodata/repomd.xml.key', 'media.1/media'],
  previous: {
    id: 'f'.repeat(64),
    files: {
      [`repodata/${OLD_SUM}-primary.xml.gz`]: { key: blob('d'), contentNamed: true },
      'repodata/comps.xml': { key: blob('9'), contentNamed: false },
    },
  },
  settled: true,
};

const ROLES: readonly RepodataRole[] = ['repomd', 'companion', 'listed-fixed', 'listed-content'];
const SAYS: readonly OriginSays[] = ['serves-snapshot', 'serves-other', 'cannot-serve'];
const HOLDINGS: readonly Holding[] = ['stored', 'absent', 'none'];

describe('SERVING_RULES', () => {
  it('answers every request, and never from the snapshot while the origin serves another version', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ROLES),
        fc.constantFrom(...SAYS),
        fc.constantFrom(...HOLDINGS),
        (role, says, holding) => {
          const rule = servingRule(role, says, holding);
          if (rule.answer === 'snapshot') expect(holding).toBe('stored');
          if (says === 'serves-other') expect(rule.answer).toBe('origin');
          // What follows repomd.xml comes from the snapshot only when the origin cannot serve repomd.xml.
          if (role === 'companion' || role === 'listed-fixed') {
            if (says !== 'cannot-serve') expect(rule.answer).toBe('origin');
          }
          if (rule.answer === 'not-found')
            expect([role, says, holding]).toEqual(['companion', 'cannot-serve', 'absent']);
          // A stale answer (an outage in the metrics) only when the origin cannot serve.
          if (rule.outcome === 'stale') expect(says).toBe('cannot-serve');
        },
      ),
    );
  });
});

describe('decideRedirect for repository metadata', () => {
  const s3Mock = mockClient(S3Client);
  const lambdaMock = mockClient(LambdaClient);
  const s3 = new S3Client({
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' },
  });
  const lambda = new LambdaClient({});
  let origin: OriginServer;
  let manifest: SnapshotManifest = MANIFEST;

  const deps = () => ({
    config: parseHandlerConfig({
      S3_BUCKET_NAME: 'rpm-cache-bucket',
      UPLOADER_LAMBDA_ARN: 'rpm-cache-uploader',
      ORIGIN_HOST: origin.baseUrl,
      ORIGIN_HEAD_TIMEOUT: '0.3',
    }),
    s3,
    lambda,
  });
  const keyOf = (location: string | undefined) => decodeURIComponent(new URL(location ?? '').pathname);
  const repomdServes = (etag: string) =>
    origin.behaviours.set(REPOMD, { kind: 'status', status: 200, headers: { etag } });

  beforeEach(async () => {
    s3Mock.reset();
    lambdaMock.reset();
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 202 });
    manifest = MANIFEST;
    s3Mock.on(GetObjectCommand).callsFake(() => ({
      Body: objectBody(JSON.stringify(manifest)),
      ETag: '"manifest"',
    }));
    origin = await OriginServer.start();
  });

  afterEach(async () => {
    await origin.close();
  });

  it('sends the signature to the origin while the origin serves a new repomd.xml, even when the signature fails there', async () => {
    repomdServes('"repomd-v2"');
    origin.behaviours.set(ASC, { kind: 'status', status: 503 });

    const decision = await decideRedirect(ASC, deps());

    expect(decision).toMatchObject({ outcome: 'bypass', location: `${origin.baseUrl}/${ASC}`, originStatus: 200 });
    expect(decision).not.toHaveProperty('staleReason');
  });

  it('serves the snapshot’s signature when the origin cannot serve repomd.xml', async () => {
    origin.defaultBehaviour = { kind: 'status', status: 503 };

    const decision = await decideRedirect(ASC, deps());

    expect(decision).toMatchObject({ outcome: 'stale', originStatus: 503, staleReason: 'origin-failed' });
    expect(keyOf(decision.location)).toBe(`/rpm-cache-bucket/${blob('b')}`);
  });

  it('counts no stale answer for a key the origin does not have while it is up', async () => {
    repomdServes('"repomd-v1"');

    const decision = await decideRedirect(KEY, deps());

    expect(decision).toMatchObject({ outcome: 'bypass', location: `${origin.baseUrl}/${KEY}`, originStatus: 200 });
    expect(decision).not.toHaveProperty('staleReason');
  });

  it('sends a fixed-name file to the origin while the origin serves repomd.xml, and serves it from the snapshot when not', async () => {
    repomdServes('"repomd-v2"');
    origin.behaviours.set(COMPS, { kind: 'status', status: 503 });
    const up = await decideRedirect(COMPS, deps());
    origin.behaviours.set(REPOMD, { kind: 'status', status: 503 });
    const down = await decideRedirect(COMPS, deps());

    expect(up).toMatchObject({ outcome: 'bypass', location: `${origin.baseUrl}/${COMPS}` });
    expect(down).toMatchObject({ outcome: 'hit', staleReason: 'origin-failed' });
    expect(keyOf(down.location)).toBe(`/rpm-cache-bucket/${blob('c')}`);
  });

  it('serves a content-named file of the superseded snapshot to a client mid-download, never a fixed-name one', async () => {
    origin.defaultBehaviour = { kind: 'status', status: 503 };

    const named = await decideRedirect(OLD_PRIMARY, deps());

    expect(named).toMatchObject({ outcome: 'hit' });
    expect(keyOf(named.location)).toBe(`/rpm-cache-bucket/${blob('d')}`);
    manifest = { ...MANIFEST, files: { 'repodata/repomd.xml': { key: blob('a'), contentNamed: false } } };
    const fixed = await decideRedirect(COMPS, deps());
    expect(fixed).toMatchObject({ outcome: 'bypass', location: `${origin.baseUrl}/${COMPS}` });
  });

  it('serves the files of a manifest written before files were stored by checksum (plain keys)', async () => {
    origin.defaultBehaviour = { kind: 'status', status: 503 };
    const oldKey = `snapshots/${'a'.repeat(64)}/${OLD_PRIMARY}`;
    const written = {
      id: 'a'.repeat(64),
      createdAt: '2026-11-01T00:00:00Z',
      validators: {},
      files: {
        'repodata/repomd.xml': `snapshots/${'a'.repeat(64)}/${REPOMD}`,
        [`repodata/${OLD_SUM}-primary.xml.gz`]: oldKey,
      },
      absent: [],
    };
    s3Mock.on(GetObjectCommand).callsFake(() => ({
      Body: objectBody(JSON.stringify(written)),
      ETag: '"old"',
    }));

    const primary = await decideRedirect(OLD_PRIMARY, deps());
    const repomd = await decideRedirect(REPOMD, deps());

    expect(primary).toMatchObject({ outcome: 'hit' });
    expect(keyOf(primary.location)).toBe(`/rpm-cache-bucket/${oldKey}`);
    expect(repomd).toMatchObject({ outcome: 'stale' });
  });

  it('triggers a run for a snapshot a stopped run left unsettled, while the origin serves that version', async () => {
    repomdServes('"repomd-v1"');
    manifest = { ...MANIFEST, settled: false, createdAt: '2026-01-01T00:00:00Z' };

    expect(await decideRedirect(REPOMD, deps())).toMatchObject({ outcome: 'stored', uploadTriggered: true });
  });

  it.each([
    ['answers 503', 503],
    ['has lost the repository (404)', 404],
  ])('triggers a run for a snapshot left unsettled while the origin %s, and serves it stale', async (_, status) => {
    origin.behaviours.set(REPOMD, { kind: 'status', status });
    manifest = { ...MANIFEST, settled: false, createdAt: '2026-01-01T00:00:00Z' };

    expect(await decideRedirect(REPOMD, deps())).toMatchObject({ outcome: 'stale', uploadTriggered: true });
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(1);
  });

  it('serves a snapshot left unsettled stale even when the run it triggers cannot be invoked', async () => {
    origin.behaviours.set(REPOMD, { kind: 'status', status: 503 });
    manifest = { ...MANIFEST, settled: false, createdAt: '2026-01-01T00:00:00Z' };
    lambdaMock.on(InvokeCommand).rejects(new Error('TooManyRequestsException'));

    expect(await decideRedirect(REPOMD, deps())).toMatchObject({ outcome: 'stale', uploadTriggered: false });
  });

  it('does not trigger a run for a stale answer from a settled snapshot', async () => {
    origin.behaviours.set(REPOMD, { kind: 'status', status: 503 });

    expect(await decideRedirect(REPOMD, deps())).toMatchObject({ outcome: 'stale', uploadTriggered: false });
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it('keeps the client’s query on a redirect to the origin, and asks the origin without it', async () => {
    repomdServes('"repomd-v2"');

    const decision = await decideRedirect(REPOMD, deps(), { query: 'countme=1' });
    const bypass = await decideRedirect(`${REPO}.treeinfo`, deps(), { query: 'a=1&b=%2B' });

    expect(decision.location).toBe(`${origin.baseUrl}/${REPOMD}?countme=1`);
    expect(bypass.location).toBe(`${origin.baseUrl}/${REPO}.treeinfo?a=1&b=%2B`);
    expect(origin.requestsFor('HEAD').map((request) => request.url)).toEqual([`/${REPOMD}`]);
  });
});
