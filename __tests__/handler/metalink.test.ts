/**
 * `/metalink` and `/mirrorlist` answered by the cache: the metalink read and
 * written in mirrormanager's format, and answerMirrorService against a real
 * HTTP stand-in for the mirror manager, with S3 mocked at the SDK.
 *
 * The fixture is written to mirrormanager's format exactly as librepo's own
 * test data captures it (`tests/test_data/metalinks/metalink_with_alternates`
 * in rpm-software-management/librepo): four hash types, `mm0:alternates`,
 * `<url>`s in http, https and rsync with locations and preferences. Its
 * hashes are of made-up text.
 */
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { GetObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/util-stream';
import { mockClient } from 'aws-sdk-client-mock';
import { parseHandlerConfig } from '../../src/commons/config.js';
import type { SnapshotManifest } from '../../src/commons/snapshot-manifest.js';
import { answerMirrorService, mirrorServiceOf } from '../../src/handler/metalink/answer.js';
import { parseMetalink, writeMetalink } from '../../src/handler/metalink/metalink-xml.js';
import { parseMirrorlist } from '../../src/handler/metalink/mirrorlist-text.js';
import { s3Error } from '../helpers/aws.js';
import { OriginServer, refusedBaseUrl } from '../helpers/origin-server.js';

const FIXTURE = readFileSync('__tests__/fixtures/metalink/updates-released-f44-x86_64.xml', 'utf8');
const REPO = 'pub/fedora/linux/updates/44/Everything/x86_64/';
const NEWEST_SHA256 = '1e94dec0557c88b6004afda6fc3aa6fa981c96e5b019adf65ce65536f2e3108a';
const ALTERNATE_SHA256 = 'e3808065171c040b8d4dcde1ddf7fbc4414bebc8a40c276c1c60e80837ac8ac8';
const SNAPSHOT_ID = 'a'.repeat(64);
const CACHE = 'https://cache.example';
const QUERY = 'repo=updates-released-f44&arch=x86_64&countme=3';

const manifest = (id: string): SnapshotManifest => ({
  id,
  createdAt: '2026-12-07T08:00:00Z',
  validators: {},
  files: { 'repodata/repomd.xml': { key: `snapshots/blobs/${REPO}repodata/sha256-${id}`, contentNamed: false } },
  absent: [],
  settled: true,
});

describe('parseMetalink and writeMetalink', () => {
  it("reads a metalink in mirrormanager's format: the newest hashes, the alternates, every url", async () => {
    const metalink = await parseMetalink(FIXTURE);

    expect(metalink?.newest).toMatchObject({ timestamp: '1796633109', size: '7415' });
    expect(metalink?.newest.hashes.map((hash) => hash.type)).toEqual(['md5', 'sha1', 'sha256', 'sha512']);
    expect(metalink?.newest.hashes[2]).toEqual({ type: 'sha256', value: NEWEST_SHA256 });
    expect(metalink?.alternates).toHaveLength(2);
    expect(metalink?.alternates[0]?.hashes[2]?.value).toBe(ALTERNATE_SHA256);
    expect(metalink?.urls).toHaveLength(8);
    expect(metalink?.urls[0]).toEqual({
      url: 'https://ftp.fau.de/fedora/linux/updates/44/Everything/x86_64/repodata/repomd.xml',
      protocol: 'https',
      type: 'https',
      location: 'DE',
      preference: 100,
    });
    expect(metalink).toMatchObject({ pubdate: 'Mon, 07 Dec 2026 09:12:41 GMT', generator: 'mirrormanager' });
  });

  it('writes what it reads: the same metalink read back, with the mm0 prefix librepo matches literally', async () => {
    const metalink = await parseMetalink(FIXTURE);
    if (metalink === undefined) throw new Error('fixture not read');

    const written = writeMetalink(metalink);

    expect(await parseMetalink(written)).toEqual(metalink);
    expect(written).toContain('xmlns:mm0="http://fedorahosted.org/mirrormanager"');
    expect(written).toContain('<mm0:alternates>');
    expect(written).toContain('<mm0:timestamp>1796633109</mm0:timestamp>');
  });

  it('escapes what it writes: a URL with & stays one URL', async () => {
    const url = 'https://m.example/r/repodata/repomd.xml?a=1&b=<2>';
    const written = writeMetalink({
      newest: { hashes: [{ type: 'sha256', value: 'ab' }] },
      alternates: [],
      urls: [{ url }],
    });

    expect(written).toContain('?a=1&amp;b=&lt;2&gt;');
    expect((await parseMetalink(written))?.urls[0]?.url).toBe(url);
  });

  it.each([
    ['an HTML page', '<html><body>Service Unavailable</body></html>'],
    ['an error comment', '<?xml version="1.0"?><!-- # repo = nope arch = x86_64 error: invalid repo or arch -->'],
    ['a metalink without repomd.xml', FIXTURE.replace('name="repomd.xml"', 'name="other.xml"')],
    ['a metalink without hashes', FIXTURE.replace(/<verification>[\s\S]*?<\/verification>/g, '')],
    ['a DOCTYPE', `<!DOCTYPE metalink [<!ENTITY x "y">]>${FIXTURE.replace(/^<\?xml[^>]*>/, '')}`],
    ['not XML', 'repo=updates arch=x86_64'],
  ])('reads %s as no metalink', async (_name, text) => {
    expect(await parseMetalink(text)).toBeUndefined();
  });
});

describe('parseMirrorlist', () => {
  it('takes # lines as comments and every other non-blank line as a base URL', () => {
    expect(parseMirrorlist('# repo = updates-released-f44 arch = x86_64\nhttps://a/x/\n\n  http://b/y/  \n')).toEqual({
      comments: ['# repo = updates-released-f44 arch = x86_64'],
      urls: ['https://a/x/', 'http://b/y/'],
    });
  });
});

describe('answerMirrorService', () => {
  const s3Mock = mockClient(S3Client);
  const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' } });
  let service: OriginServer;

  /** The fixture with its dl.fedoraproject.org URL under `origin` (a local server stands in for the origin). */
  const metalinkNaming = (origin: string) => FIXTURE.replaceAll('https://dl.fedoraproject.org', origin);

  const configWith = (env: Record<string, string> = {}) =>
    parseHandlerConfig({
      S3_BUCKET_NAME: 'rpm-cache-bucket',
      UPLOADER_LAMBDA_ARN: 'rpm-cache-uploader',
      ORIGIN_HOST: 'https://dl.fedoraproject.org',
      ORIGIN_HEAD_TIMEOUT: '0.5',
      METALINK_URL: `${service.baseUrl}/metalink`,
      ...env,
    });

  const serveMetalink = (body: string, status = 200, type = 'application/metalink+xml') =>
    service.behaviours.set('metalink', {
      kind: 'custom',
      respond: (_request, response) => response.writeHead(status, { 'content-type': type }).end(body),
    });

  const ask = (env: Record<string, string> = {}, query: string | undefined = QUERY, path = 'metalink') => {
    const config = configWith(env);
    const named = mirrorServiceOf(path, config);
    if (named === undefined) throw new Error(`${path} is not answered by the cache`);
    return answerMirrorService(named, { config, s3 }, { query, publicUrl: CACHE });
  };

  const snapshotIs = (id: string) =>
    s3Mock.on(GetObjectCommand).callsFake(() => ({
      Body: sdkStreamMixin(Readable.from([Buffer.from(JSON.stringify(manifest(id)))])),
      ETag: '"manifest"',
    }));

  beforeEach(async () => {
    s3Mock.reset();
    s3Mock.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }));
    service = await OriginServer.start();
  });

  afterEach(async () => {
    await service.close();
  });

  it("asks the service with the client's query unchanged, countme included", async () => {
    serveMetalink(FIXTURE);

    await ask();

    expect(service.requests).toEqual([{ method: 'GET', url: `/metalink?${QUERY}` }]);
  });

  it('makes the cache the only mirror, keeps every upstream hash, and adds the current snapshot as an alternate', async () => {
    serveMetalink(FIXTURE);
    snapshotIs(SNAPSHOT_ID);

    const answer = await ask();
    const metalink = await parseMetalink(String(answer.response.body));

    expect(answer.outcome).toBe('rewritten');
    expect(answer.response).toMatchObject({
      statusCode: 200,
      headers: { 'Content-Type': 'application/metalink+xml', 'Cache-Control': 'no-store' },
    });
    expect(metalink?.urls).toEqual([
      { url: `${CACHE}/${REPO}repodata/repomd.xml`, protocol: 'https', type: 'https', preference: 100 },
    ]);
    const upstream = await parseMetalink(FIXTURE);
    expect(metalink?.newest).toEqual(upstream?.newest);
    expect(metalink?.alternates).toEqual([
      ...(upstream?.alternates ?? []),
      { hashes: [{ type: 'sha256', value: SNAPSHOT_ID }] },
    ]);
    expect(answer.facts).toMatchObject({ repository: REPO, snapshotId: SNAPSHOT_ID, snapshotVouched: 'added' });
    expect(s3Mock.commandCalls(GetObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'rpm-cache-bucket',
      Key: `snapshots/current/${REPO}repodata/repomd.xml`,
    });
  });

  it('adds no alternate when the upstream already vouches for the snapshot', async () => {
    serveMetalink(FIXTURE);
    snapshotIs(ALTERNATE_SHA256);

    const answer = await ask();

    expect((await parseMetalink(String(answer.response.body)))?.alternates).toHaveLength(2);
    expect(answer.facts).toMatchObject({ snapshotVouched: 'upstream' });
  });

  it('rewrites without a snapshot alternate when the repository has no snapshot yet', async () => {
    serveMetalink(FIXTURE);

    const answer = await ask();

    expect(answer.outcome).toBe('rewritten');
    expect((await parseMetalink(String(answer.response.body)))?.alternates).toHaveLength(2);
    expect(answer.facts).toMatchObject({ snapshot: 'none' });
  });

  it('rewrites without it when S3 fails, and says so in the log facts', async () => {
    serveMetalink(FIXTURE);
    s3Mock.on(GetObjectCommand).rejects(s3Error('InternalError', 500));

    const answer = await ask();

    expect(answer.outcome).toBe('rewritten');
    expect(answer.facts).toMatchObject({
      snapshot: 'unknown',
      snapshotError: expect.stringContaining('InternalError'),
    });
  });

  it("maps a mirror of a named origin (ORIGINS) to that origin's path, the highest preference first", async () => {
    serveMetalink(FIXTURE);

    const answer = await ask({
      ORIGINS:
        'fedora=https://dl.fedoraproject.org/pub/fedora/linux,https://mirror.23m.com/fedora/linux,https://ftp.fau.de/fedora/linux',
    });

    expect(answer.facts).toMatchObject({
      repository: 'fedora/updates/44/Everything/x86_64/',
      mirror: 'https://ftp.fau.de/fedora/linux/updates/44/Everything/x86_64/repodata/repomd.xml',
    });
    expect((await parseMetalink(String(answer.response.body)))?.urls[0]?.url).toBe(
      `${CACHE}/fedora/updates/44/Everything/x86_64/repodata/repomd.xml`,
    );
  });

  it('encodes each path segment once in the URL it writes', async () => {
    serveMetalink(metalinkNaming('https://dl.fedoraproject.org/pub/a%20b'));

    const answer = await ask();

    expect((await parseMetalink(String(answer.response.body)))?.urls[0]?.url).toBe(
      `${CACHE}/pub/a%20b/pub/fedora/linux/updates/44/Everything/x86_64/repodata/repomd.xml`,
    );
  });

  it('passes a metalink whose mirrors map to no configured origin through unchanged, with the reason logged', async () => {
    serveMetalink(FIXTURE);

    const answer = await ask({ ORIGIN_HOST: 'https://mirror.example' });

    expect(answer).toMatchObject({
      outcome: 'passed-through',
      response: { statusCode: 200, body: FIXTURE, headers: { 'Content-Type': 'application/metalink+xml' } },
      facts: { reason: 'no listed mirror lies under a configured origin', mirrors: 8 },
    });
  });

  it("passes the service's own 404 (an unknown repo) through as it is", async () => {
    const body = '<?xml version="1.0"?><!-- # repo = nope arch = x86_64 error: invalid repo or arch -->';
    serveMetalink(body, 404, 'application/metalink+xml');

    const answer = await ask({}, 'repo=nope&arch=x86_64');

    expect(answer).toMatchObject({ outcome: 'passed-through', response: { statusCode: 404, body } });
  });

  it.each([
    ['answers 503', () => service.behaviours.set('metalink', { kind: 'status', status: 503 }), 'answered 503'],
    ['hangs', () => service.behaviours.set('metalink', { kind: 'stall' }), 'no answer within 500 ms'],
    ['refuses connections', () => service.close(), 'unreachable'],
  ])('answers 502 with the reason when the service %s', async (_name, breakService, reason) => {
    await breakService();
    const started = performance.now();

    const answer = await ask();

    expect(performance.now() - started).toBeLessThan(2000);
    expect(answer.outcome).toBe('upstream-failed');
    expect(answer.response).toMatchObject({ statusCode: 502 });
    expect(String(answer.response.body)).toContain(reason);
  });

  it('answers 502 when the service is not even listening', async () => {
    const refused = await refusedBaseUrl();

    const answer = await ask({ METALINK_URL: `${refused}/metalink` });

    expect(answer).toMatchObject({
      outcome: 'upstream-failed',
      facts: { reason: expect.stringContaining('unreachable') },
    });
  });

  it('rewrites a mirror list to the cache base URL of the repository, keeping its comments', async () => {
    service.behaviours.set('mirrorlist', {
      kind: 'custom',
      respond: (_request, response) =>
        response
          .writeHead(200, { 'content-type': 'text/plain' })
          .end(
            '# repo = updates-released-f44 arch = x86_64 country = DE\n' +
              'https://ftp.fau.de/fedora/linux/updates/44/Everything/x86_64/\n' +
              'https://dl.fedoraproject.org/pub/fedora/linux/updates/44/Everything/x86_64/\n',
          ),
    });

    const answer = await ask({}, QUERY, 'mirrorlist');

    expect(service.requests).toEqual([{ method: 'GET', url: `/mirrorlist?${QUERY}` }]);
    expect(answer).toMatchObject({
      outcome: 'rewritten',
      response: {
        statusCode: 200,
        body: `# repo = updates-released-f44 arch = x86_64 country = DE\n${CACHE}/${REPO}\n`,
      },
    });
  });
});

describe('mirrorServiceOf', () => {
  const config = (metalink?: string) =>
    parseHandlerConfig({
      S3_BUCKET_NAME: 'b',
      UPLOADER_LAMBDA_ARN: 'u',
      ...(metalink === undefined ? {} : { METALINK_URL: metalink }),
    });

  it('names nothing without METALINK_URL: /metalink is a path like any other', () => {
    expect(mirrorServiceOf('metalink', config())).toBeUndefined();
  });

  it('answers /metalink, and /mirrorlist beside it when METALINK_URL ends in /metalink', () => {
    const set = config('https://mirrors.fedoraproject.org/metalink');

    expect(mirrorServiceOf('metalink', set)).toEqual({
      service: 'metalink',
      upstream: 'https://mirrors.fedoraproject.org/metalink',
    });
    expect(mirrorServiceOf('mirrorlist', set)).toEqual({
      service: 'mirrorlist',
      upstream: 'https://mirrors.fedoraproject.org/mirrorlist',
    });
    expect(mirrorServiceOf('pub/metalink', set)).toBeUndefined();
    expect(mirrorServiceOf('mirrorlist', config('https://mm.example/ml'))).toBeUndefined();
  });
});
