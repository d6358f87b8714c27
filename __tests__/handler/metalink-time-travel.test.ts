/**
 * `/@<time>/metalink` and `/@<time>/mirrorlist` (issue 27 item 4): the real
 * answer against a real HTTP stand-in for the mirror manager, with S3 mocked
 * at the SDK as in metalink.test.ts (the current manifest, its `previous`,
 * and an empty history listing: findSnapshotAt then reads the manifest).
 */
import { readFileSync } from 'node:fs';
import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { parseHandlerConfig } from '../../src/commons/config.js';
import { repodataPath } from '../../src/commons/repodata.js';
import { parseSnapshotTime } from '../../src/commons/snapshot-history.js';
import type { SnapshotManifest } from '../../src/commons/snapshot-manifest.js';
import { LastRepositories } from '../../src/handler/metalink/last-repository.js';
import { parseMetalink } from '../../src/handler/metalink/metalink-xml.js';
import { parseMirrorlist } from '../../src/handler/metalink/mirrorlist-text.js';
import { answerMirrorServiceAt, travelMirrorServiceOf } from '../../src/handler/metalink/time-travel.js';
import { UpstreamMemo } from '../../src/handler/metalink/upstream-memo.js';
import { answerAt } from '../../src/handler/time-travel/answer.js';
import { objectBody } from '../helpers/aws.js';
import { OriginServer } from '../helpers/origin-server.js';

const FIXTURE = readFileSync('__tests__/fixtures/metalink/updates-released-f44-x86_64.xml', 'utf8');
const REPO = 'pub/fedora/linux/updates/44/Everything/x86_64/';
const NEWEST_SHA256 = '1e94dec0557c88b6004afda6fc3aa6fa981c96e5b019adf65ce65536f2e3108a';
const CURRENT_ID = 'c'.repeat(64);
const PREVIOUS_ID = 'b'.repeat(64);
const CACHE = 'https://cache.example';
const QUERY = 'repo=updates-released-f44&arch=x86_64&countme=3';
const NOW = Date.parse('2026-12-04T00:00:00Z');
const MAPPING_KEY = 'metalink/updates-released-f44/x86_64.json';

const files = (id: string) => ({
  'repodata/repomd.xml': { key: `snapshots/blobs/${REPO}repodata/sha256-${id}`, contentNamed: false },
});

/** Current since Dec 1, 08:00; before it, since Nov 20, 08:00, the previous one. */
const manifest: SnapshotManifest = {
  id: CURRENT_ID,
  createdAt: '2026-12-01T08:00:00Z',
  validators: {},
  files: files(CURRENT_ID),
  absent: [],
  previous: { id: PREVIOUS_ID, createdAt: '2026-11-20T08:00:00Z', files: files(PREVIOUS_ID), absent: [] },
  settled: true,
};

describe('answerMirrorServiceAt', () => {
  const s3Mock = mockClient(S3Client);
  const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' } });
  let service: OriginServer;
  let lastRepositories: LastRepositories;
  let memo: UpstreamMemo;

  const configWith = () =>
    parseHandlerConfig({
      S3_BUCKET_NAME: 'rpm-cache-bucket',
      UPLOADER_LAMBDA_ARN: 'rpm-cache-uploader',
      ORIGIN_HOST: 'https://dl.fedoraproject.org',
      ORIGIN_HEAD_TIMEOUT: '0.5',
      METALINK_URL: `${service.baseUrl}/metalink`,
    });

  /** The fixture with its dl.fedoraproject.org URLs as they are: the origin is the configured one. */
  const serveMetalink = (body = FIXTURE, status = 200) =>
    service.behaviours.set('metalink', {
      kind: 'custom',
      respond: (_request, response) =>
        response.writeHead(status, { 'content-type': 'application/metalink+xml' }).end(body),
    });

  const ask = (time: string, path = 'metalink', query: string | undefined = QUERY) => {
    const config = configWith();
    const named = travelMirrorServiceOf(`@${time}/${path}`, config);
    if (named === undefined) throw new Error(`@${time}/${path} is not answered as a metalink`);
    return answerMirrorServiceAt(
      named,
      { config, s3, lastRepositories, memo, now: () => NOW },
      { query, publicUrl: CACHE },
    );
  };

  /** What time travel answers for the repository's repomd.xml at `time`. */
  const travelAnswer = async (time: string) => {
    const at = parseSnapshotTime(time);
    const repodata = repodataPath(`${REPO}repodata/repomd.xml`);
    if (at === undefined || repodata === undefined) throw new Error('bad test time');
    return answerAt(
      { time, at, repodata },
      { config: configWith(), s3, now: () => NOW },
      { method: 'GET', accept: undefined },
    );
  };

  const snapshotExists = () =>
    s3Mock.on(GetObjectCommand, { Key: `snapshots/current/${REPO}repodata/repomd.xml` }).callsFake(() => ({
      Body: objectBody(JSON.stringify(manifest)),
      ETag: '"manifest"',
    }));

  const mappingIs = (repository: string) =>
    s3Mock.on(GetObjectCommand, { Key: MAPPING_KEY }).callsFake(() => ({
      Body: objectBody(JSON.stringify({ repository, recordedAt: 'then' })),
    }));

  beforeEach(async () => {
    s3Mock.reset();
    s3Mock.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }));
    s3Mock.on(PutObjectCommand).resolves({});
    s3Mock.on(ListObjectsV2Command).resolves({});
    lastRepositories = new LastRepositories(s3, 'rpm-cache-bucket');
    memo = new UpstreamMemo(() => NOW);
    service = await OriginServer.start();
  });

  afterEach(async () => {
    await service.close();
  });

  it('vouches only for the snapshot current at the time, and lists only the cache under /@<time>/', async () => {
    serveMetalink();
    snapshotExists();

    const answer = await ask('20261125T000000Z');

    expect(service.requests).toEqual([{ method: 'GET', url: `/metalink?${QUERY}` }]);
    expect(answer).toMatchObject({
      outcome: 'time-travel',
      response: {
        statusCode: 200,
        headers: {
          'Content-Type': 'application/metalink+xml',
          'X-Cache-Metalink': 'time-travel',
          'X-Cache-Snapshot': '20261120T080000Z',
        },
      },
      facts: {
        mirrorService: 'metalink',
        repository: REPO,
        timeTravel: 'served',
        snapshotId: PREVIOUS_ID,
        time: '20261125T000000Z',
      },
    });
    const body = String(answer.response.body);
    expect(body).not.toContain(NEWEST_SHA256);
    expect(await parseMetalink(body)).toMatchObject({
      generator: 'rpm-cache',
      newest: { hashes: [{ type: 'sha256', value: PREVIOUS_ID }] },
      alternates: [],
      urls: [{ url: `${CACHE}/@20261125T000000Z/${REPO}repodata/repomd.xml`, protocol: 'https', preference: 100 }],
    });
  });

  it('vouches for the current snapshot at a time after it became current', async () => {
    serveMetalink();
    snapshotExists();

    const answer = await ask('20261203T000000Z');

    expect((await parseMetalink(String(answer.response.body)))?.newest.hashes).toEqual([
      { type: 'sha256', value: CURRENT_ID },
    ]);
  });

  it('records the mapping the service answered with, as /metalink does', async () => {
    serveMetalink();
    snapshotExists();

    const answer = await ask('20261203T000000Z');

    expect(answer.facts).toMatchObject({ mapping: 'written' });
    expect(s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({ Key: MAPPING_KEY });
  });

  it('writes a mirror list with the /@<time>/ base URL as its only line', async () => {
    const mirrorlist = `# repo = updates-released-f44 arch = x86_64 country = DE\nhttps://dl.fedoraproject.org/${REPO}\n`;
    service.behaviours.set('mirrorlist', {
      kind: 'custom',
      respond: (_request, response) => response.writeHead(200, { 'content-type': 'text/plain' }).end(mirrorlist),
    });
    snapshotExists();

    const answer = await ask('20261125T000000Z', 'mirrorlist');

    expect(answer).toMatchObject({
      outcome: 'time-travel',
      response: { statusCode: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8' } },
    });
    expect(parseMirrorlist(String(answer.response.body)).urls).toEqual([`${CACHE}/@20261125T000000Z/${REPO}`]);
  });

  it('answers from the recorded mapping when the service is down', async () => {
    service.behaviours.set('metalink', { kind: 'status', status: 503 });
    mappingIs(REPO);
    snapshotExists();

    const answer = await ask('20261125T000000Z');

    expect(answer).toMatchObject({
      outcome: 'time-travel',
      response: { statusCode: 200 },
      facts: { repository: REPO, mapping: 'read', reason: expect.stringContaining('503'), snapshotId: PREVIOUS_ID },
    });
  });

  it("answers mirrormanager's 404 for a repo/arch never mapped when the service is down", async () => {
    service.behaviours.set('metalink', { kind: 'status', status: 503 });

    const answer = await ask('20261125T000000Z');

    expect(answer).toMatchObject({ outcome: 'unknown', response: { statusCode: 404 } });
  });

  it("passes the service's own 404 (an unknown repo) through", async () => {
    serveMetalink('<metalink><!-- # repo = nope arch = x86_64 error: invalid repo or arch --></metalink>', 404);

    const answer = await ask('20261125T000000Z');

    expect(answer).toMatchObject({ outcome: 'passed-through', response: { statusCode: 404 } });
  });

  it.each([
    ['before the history', '20261101T000000Z', 'before-history'],
    ['in the future', '20261205T000000Z', 'future'],
  ])('gives the answer time travel gives for repodata at a time %s', async (_name, time, outcome) => {
    serveMetalink();
    snapshotExists();

    const answer = await ask(time);
    const travel = await travelAnswer(time);

    expect(answer).toMatchObject({ outcome: 'time-travel', facts: { timeTravel: outcome, repository: REPO } });
    expect(answer.response.statusCode).toBe(travel.response.statusCode);
    expect(answer.response.body).toBe(travel.response.body);
  });

  it('gives the answer time travel gives when the repository has no snapshot', async () => {
    serveMetalink();

    const answer = await ask('20261125T000000Z');
    const travel = await travelAnswer('20261125T000000Z');

    expect(answer).toMatchObject({
      outcome: 'time-travel',
      response: { statusCode: 404 },
      facts: { timeTravel: 'no-history' },
    });
    expect(answer.response.body).toBe(travel.response.body);
  });

  it('answers a malformed time with time travel 400, without asking the service', async () => {
    serveMetalink();

    const answer = await ask('2026-11-25');

    expect(answer).toMatchObject({
      outcome: 'time-travel',
      response: { statusCode: 400 },
      facts: { timeTravel: 'malformed' },
    });
    expect(String(answer.response.body)).toContain('is not a time');
    expect(service.requests).toEqual([]);
  });
});

describe('travelMirrorServiceOf', () => {
  const config = parseHandlerConfig({
    S3_BUCKET_NAME: 'b',
    UPLOADER_LAMBDA_ARN: 'u',
    ORIGIN_HOST: 'https://dl.fedoraproject.org',
    METALINK_URL: 'https://mirrors.fedoraproject.org/metalink',
  });

  it('names /@<time>/metalink and /@<time>/mirrorlist, with the time', () => {
    expect(travelMirrorServiceOf('@20261125T000000Z/metalink', config)).toMatchObject({
      service: 'metalink',
      travel: { kind: 'pass', time: '20261125T000000Z' },
    });
    expect(travelMirrorServiceOf('@20261125T000000Z/mirrorlist', config)).toMatchObject({ service: 'mirrorlist' });
    expect(travelMirrorServiceOf('@later/metalink', config)).toMatchObject({ travel: { kind: 'malformed' } });
  });

  it('names nothing else: deeper paths, the listing, plain /metalink, or without METALINK_URL', () => {
    expect(travelMirrorServiceOf('@20261125T000000Z/pub/metalink', config)).toBeUndefined();
    expect(travelMirrorServiceOf('@/metalink', config)).toBeUndefined();
    expect(travelMirrorServiceOf('metalink', config)).toBeUndefined();
    expect(travelMirrorServiceOf('@20261125T000000Z', config)).toBeUndefined();
    const without = parseHandlerConfig({ S3_BUCKET_NAME: 'b', UPLOADER_LAMBDA_ARN: 'u', ORIGIN_HOST: 'https://o' });
    expect(travelMirrorServiceOf('@20261125T000000Z/metalink', without)).toBeUndefined();
  });
});
