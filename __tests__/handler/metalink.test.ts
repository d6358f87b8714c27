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
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { parseHandlerConfig } from '../../src/commons/config.js';
import type { SnapshotManifest } from '../../src/commons/snapshot-manifest.js';
import { answerMirrorService, mirrorServiceOf } from '../../src/handler/metalink/answer.js';
import { LastRepositories, repoArchOf } from '../../src/handler/metalink/last-repository.js';
import { parseMetalink, writeMetalink } from '../../src/handler/metalink/metalink-xml.js';
import { parseMirrorlist } from '../../src/handler/metalink/mirrorlist-text.js';
import { UpstreamMemo, withoutCountme } from '../../src/handler/metalink/upstream-memo.js';
import { objectBody, s3Error } from '../helpers/aws.js';
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
  let lastRepositories: LastRepositories;
  let memo: UpstreamMemo;
  let now: number;

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
    return answerMirrorService(named, { config, s3, lastRepositories, memo }, { query, publicUrl: CACHE });
  };

  const snapshotIs = (id: string) =>
    s3Mock.on(GetObjectCommand, { Key: `snapshots/current/${REPO}repodata/repomd.xml` }).callsFake(() => ({
      Body: objectBody(JSON.stringify(manifest(id))),
      ETag: '"manifest"',
    }));

  const MAPPING_KEY = 'metalink/updates-released-f44/x86_64.json';
  /** The mapping in S3: updates-released-f44/x86_64 was last answered with REPO. */
  const mappingIs = (repository: string) =>
    s3Mock.on(GetObjectCommand, { Key: MAPPING_KEY }).callsFake(() => ({
      Body: objectBody(JSON.stringify({ repository, recordedAt: 'then' })),
    }));

  const breakings: [string, () => unknown, string][] = [
    ['answers 503', () => service.behaviours.set('metalink', { kind: 'status', status: 503 }), 'answered 503'],
    ['hangs', () => service.behaviours.set('metalink', { kind: 'stall' }), 'no answer within 500 ms'],
    ['refuses connections', () => service.close(), 'unreachable'],
  ];

  beforeEach(async () => {
    s3Mock.reset();
    s3Mock.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }));
    s3Mock.on(PutObjectCommand).resolves({});
    now = 1_000_000;
    lastRepositories = new LastRepositories(s3, 'rpm-cache-bucket');
    memo = new UpstreamMemo(() => now);
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

  it('records the repository a rewritten answer named, once per container while it stays the same', async () => {
    serveMetalink(FIXTURE);

    const first = await ask();
    const second = await ask({}, 'repo=updates-released-f44&arch=x86_64&countme=1');

    expect(first.facts).toMatchObject({ mapping: 'written' });
    expect(second.facts).toMatchObject({ mapping: 'unchanged' });
    const puts = s3Mock.commandCalls(PutObjectCommand);
    expect(puts).toHaveLength(1);
    expect(puts[0]?.args[0].input).toMatchObject({ Bucket: 'rpm-cache-bucket', Key: MAPPING_KEY });
    expect(JSON.parse(String(puts[0]?.args[0].input.Body))).toMatchObject({ repository: REPO });
  });

  it('records nothing for an answer it passes through (a made-up repo never reaches S3)', async () => {
    serveMetalink('<?xml version="1.0"?><!-- error: invalid repo or arch -->', 404);

    await ask({}, 'repo=made-up&arch=x86_64');

    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('still answers when the mapping cannot be written, and logs why', async () => {
    serveMetalink(FIXTURE);
    s3Mock.on(PutObjectCommand).rejects(s3Error('AccessDenied', 403));

    const answer = await ask();

    expect(answer).toMatchObject({ outcome: 'rewritten', facts: { mapping: 'failed' } });
  });

  it.each(breakings)(
    'writes the metalink from the snapshot of the last mapped repository when the service %s',
    async (_name, breakService, reason) => {
      mappingIs(REPO);
      snapshotIs(SNAPSHOT_ID);
      await breakService();
      const started = performance.now();

      const answer = await ask();

      expect(performance.now() - started).toBeLessThan(2000);
      expect(answer).toMatchObject({
        outcome: 'written-from-snapshot',
        response: {
          statusCode: 200,
          headers: { 'Content-Type': 'application/metalink+xml', 'X-Cache-Metalink': 'written-from-snapshot' },
        },
        facts: { repository: REPO, snapshotId: SNAPSHOT_ID, reason: expect.stringContaining(reason) },
      });
      const metalink = await parseMetalink(String(answer.response.body));
      expect(metalink).toMatchObject({
        generator: 'rpm-cache',
        newest: { hashes: [{ type: 'sha256', value: SNAPSHOT_ID }] },
        alternates: [],
        urls: [{ url: `${CACHE}/${REPO}repodata/repomd.xml`, protocol: 'https', preference: 100 }],
      });
    },
  );

  it.each(breakings)(
    "answers 404 in mirrormanager's format for a repo/arch never mapped when the service %s",
    async (_name, breakService, reason) => {
      await breakService();

      const answer = await ask();

      expect(answer).toMatchObject({
        outcome: 'unknown',
        response: { statusCode: 404, headers: { 'Content-Type': 'application/metalink+xml' } },
      });
      const body = String(answer.response.body);
      expect(body).toContain('<!-- # repo = updates-released-f44 arch = x86_64 error: invalid repo or arch');
      expect(body).toContain(reason);
      expect(await parseMetalink(body)).toBeUndefined();
    },
  );

  it('keeps a client-given name from closing the comment it is written into', async () => {
    service.behaviours.set('metalink', { kind: 'status', status: 503 });

    const answer = await ask({}, 'repo=x--><evil/><!--&arch=x86_64');

    // One comment, opened and closed once: what the client wrote stays comment text.
    expect(String(answer.response.body).match(/--/g)).toEqual(['--', '--']);
  });

  it('answers 502 when the service fails and the mapped repository has no snapshot', async () => {
    mappingIs(REPO);
    service.behaviours.set('metalink', { kind: 'status', status: 503 });

    const answer = await ask();

    expect(answer).toMatchObject({
      outcome: 'upstream-failed',
      response: { statusCode: 502 },
      facts: { repository: REPO, snapshot: 'none' },
    });
    expect(String(answer.response.body)).toContain('answered 503');
  });

  it('answers 502 when the service fails and S3 cannot say what the repo/arch mapped to', async () => {
    s3Mock.on(GetObjectCommand).rejects(s3Error('InternalError', 500));
    service.behaviours.set('metalink', { kind: 'status', status: 503 });

    const answer = await ask();

    expect(answer).toMatchObject({
      outcome: 'upstream-failed',
      facts: { mappingError: expect.stringContaining('InternalError') },
    });
  });

  it('writes from the snapshot what it recorded itself when the service answered', async () => {
    serveMetalink(FIXTURE);
    await ask();
    const put = s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input;
    mappingIs(JSON.parse(String(put?.Body)).repository);
    snapshotIs(SNAPSHOT_ID);
    service.behaviours.set('metalink', { kind: 'status', status: 503 });

    const answer = await ask({}, 'repo=updates-released-f44&arch=x86_64&countme=2');

    expect(answer).toMatchObject({ outcome: 'written-from-snapshot', facts: { repository: REPO } });
  });

  it('writes the mirror list from the mapping when the mirrorlist service fails, or 404 without one', async () => {
    service.behaviours.set('mirrorlist', { kind: 'status', status: 503 });
    const unknown = await ask({}, QUERY, 'mirrorlist');
    mappingIs(REPO);

    const written = await ask({}, QUERY, 'mirrorlist');

    expect(unknown).toMatchObject({ outcome: 'unknown', response: { statusCode: 404 } });
    expect(String(unknown.response.body)).toMatch(
      /^# repo = updates-released-f44 arch = x86_64 error: invalid repo or arch\n/,
    );
    expect(written).toMatchObject({ outcome: 'written-from-snapshot', response: { statusCode: 200 } });
    expect(parseMirrorlist(String(written.response.body)).urls).toEqual([`${CACHE}/${REPO}`]);
  });

  it('answers 502 when the service is not even listening and the repo/arch is mapped but S3 fails', async () => {
    const refused = await refusedBaseUrl();
    s3Mock.on(GetObjectCommand).rejects(s3Error('InternalError', 500));

    const answer = await ask({ METALINK_URL: `${refused}/metalink` });

    expect(answer).toMatchObject({
      outcome: 'upstream-failed',
      facts: { reason: expect.stringContaining('unreachable') },
    });
  });

  it('keeps an answer for a minute: a burst asks the service once, each countme still reaches it', async () => {
    serveMetalink(FIXTURE);

    const first = await ask({}, 'repo=updates-released-f44&arch=x86_64');
    now += 30_000;
    const kept = await ask({}, 'repo=updates-released-f44&arch=x86_64');
    const counted = await ask({}, 'repo=updates-released-f44&arch=x86_64&countme=4');
    now += 59_999;
    const keptAfterCount = await ask({}, 'repo=updates-released-f44&arch=x86_64');
    now += 1;
    await ask({}, 'repo=updates-released-f44&arch=x86_64');

    expect(first.facts).toMatchObject({ upstreamAnswer: 'asked' });
    expect(kept).toMatchObject({ outcome: 'rewritten', facts: { upstreamAnswer: 'kept', upstreamAgeMs: 30_000 } });
    expect(counted.facts).toMatchObject({ upstreamAnswer: 'asked' });
    expect(keptAfterCount.facts).toMatchObject({ upstreamAnswer: 'kept', upstreamAgeMs: 59_999 });
    expect(service.requests.map((request) => request.url)).toEqual([
      '/metalink?repo=updates-released-f44&arch=x86_64',
      '/metalink?repo=updates-released-f44&arch=x86_64&countme=4',
      '/metalink?repo=updates-released-f44&arch=x86_64',
    ]);
  });

  it('keeps no failure: with the service down each request asks it again', async () => {
    service.behaviours.set('metalink', { kind: 'status', status: 503 });

    await ask();
    await ask();

    expect(service.requests).toHaveLength(2);
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

describe('withoutCountme and repoArchOf', () => {
  it('drops countme from the key, keeping the rest in order', () => {
    expect(withoutCountme('repo=a&countme=2&arch=b')).toEqual({ key: 'repo=a&arch=b', countme: true });
    expect(withoutCountme('repo=a&arch=b')).toEqual({ key: 'repo=a&arch=b', countme: false });
    expect(withoutCountme(undefined)).toEqual({ key: '', countme: false });
  });

  it('reads repo and arch, refusing a query without either', () => {
    expect(repoArchOf('repo=fedora-44&arch=x86_64&countme=1')).toEqual({ repo: 'fedora-44', arch: 'x86_64' });
    expect(repoArchOf('repo=fedora-44')).toBeUndefined();
    expect(repoArchOf(`repo=${'a'.repeat(201)}&arch=x86_64`)).toBeUndefined();
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
