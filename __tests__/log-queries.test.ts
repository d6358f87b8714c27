/**
 * The Logs Insights queries ops are given (infra/lib/log-queries.ts, saved in
 * the stack and printed in docs/operations.md) read fields of the log lines. This runs
 * the real handler and uploader through the local stack, with a real S3
 * server behind a proxy that can fail, captures their lines, and checks that
 * every field each query uses is on the lines it reads, with its type.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOG_QUERIES } from '../infra/lib/log-queries.js';
import { FaultServer } from './helpers/fault-server.js';
import type { LogLine } from './helpers/logs.js';
import { repository } from './helpers/repository.js';
import { S3RVER_CREDENTIALS, startS3rver } from './helpers/s3rver.js';
import { syntheticRpmFor } from './helpers/synthetic-rpm.js';
import { startTestStack, type TestStack } from './helpers/test-stack.js';

const BUCKET = 'rpm-cache-queries';

/** A field by its dotted Logs Insights name (`error.name`). */
const fieldOf = (line: LogLine, name: string): unknown =>
  name
    .split('.')
    .reduce<unknown>(
      (value, key) => (typeof value === 'object' && value !== null ? (value as LogLine)[key] : undefined),
      line,
    );

describe('Logs Insights queries against real log lines', () => {
  let work: string;
  let store: Awaited<ReturnType<typeof startS3rver>>;
  let proxy: FaultServer;
  /** When set, the proxy answers 503 to PUTs only (uploads fail, lookups work). */
  let failPuts = false;
  let test: TestStack;
  let lines: LogLine[] = [];

  const get = (path: string) => fetch(`${test.stack.url}/${path}`, { redirect: 'manual' });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'rpm-cache-queries-'));
    store = await startS3rver(join(work, 's3'), BUCKET);
    const storePort = store.port;
    proxy = await FaultServer.start((request, body, response) => {
      if (failPuts && request.method === 'PUT') {
        response.writeHead(503, { 'content-type': 'application/xml' });
        response.end('<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
        return;
      }
      const forwarded = httpRequest(
        { host: '127.0.0.1', port: storePort, method: request.method, path: request.url, headers: request.headers },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      forwarded.end(body);
    });
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    });
    test = await startTestStack({
      AWS_ENDPOINT_URL_S3: proxy.url,
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      S3_BUCKET_NAME: BUCKET,
      ORIGIN_HEAD_TIMEOUT: '1',
    });
    process.env.AWS_REQUEST_CHECKSUM_CALCULATION = 'WHEN_REQUIRED';

    const stored = 'pub/fedora/Packages/q/query-c++-1.0-1.noarch.rpm';
    const corrupt = 'pub/fedora/Packages/q/query-corrupt-1.0-1.noarch.rpm';
    const failing = 'pub/fedora/Packages/q/query-failing-1.0-1.noarch.rpm';
    const fallback = 'pub/fedora/Packages/q/query-fallback-1.0-1.noarch.rpm';
    test.origin.files.set(stored, syntheticRpmFor(stored, { payloadBytes: 20_000 }));
    test.origin.files.set(corrupt, Buffer.from('<html>mirror error page</html>'));
    test.origin.files.set(failing, syntheticRpmFor(failing, { payloadBytes: 1000 }));
    test.origin.files.set(fallback, syntheticRpmFor(fallback, { payloadBytes: 1000 }));

    await get(stored); // miss: the upload stores it
    await get(corrupt); // miss: the upload refuses it
    await test.stack.drain();
    await get(stored); // stored
    test.origin.files.delete(stored);
    await get(stored); // hit
    await get('pub/fedora/COPYING'); // bypass
    for (const [path, bytes] of repository('pub/fedora/q/', { primary: randomBytes(1000) })) {
      test.origin.files.set(path, bytes);
    }
    await get('pub/fedora/q/repodata/repomd.xml'); // miss: the snapshot is taken
    await test.stack.drain();
    test.origin.behaviours.set('pub/fedora/q/repodata/repomd.xml', { kind: 'status', status: 503 });
    await get('pub/fedora/q/repodata/repomd.xml'); // stale
    const now = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15);
    await get(`@${now}Z/pub/fedora/q/repodata/repomd.xml`); // time travel: future (the last seconds could still change)
    await get('@19990101T000000Z/pub/fedora/q/repodata/repomd.xml'); // time travel: before-history
    await get('@/pub/fedora/q/'); // time travel: listed
    failPuts = true;
    await get(failing); // miss: the upload fails (and is retried)
    await test.stack.drain();
    failPuts = false;
    proxy.fault = { kind: 'respond', status: 503, body: '<Error><Code>SlowDown</Code></Error>' };
    await get(fallback); // fallback
    proxy.fault = undefined;
    lines = test.logs.lines();
  }, 60_000);

  afterAll(async () => {
    await test.close();
    await proxy.close();
    await store.close();
    await rm(work, { recursive: true, force: true });
  });

  it('produced every outcome the queries read', () => {
    const outcomes = (message: string) =>
      new Set(lines.filter((line) => line.message === message).map((line) => line.outcome));
    expect([...outcomes('request')].sort()).toEqual(['bypass', 'fallback', 'hit', 'miss', 'stale', 'stored']);
    expect([...outcomes('upload')].sort()).toEqual(['corrupt', 'failed', 'stored']);
    expect([...outcomes('snapshot')].sort()).toEqual(['stored']);
    expect([...outcomes('time travel')].sort()).toEqual(['before-history', 'future', 'listed']);
  });

  describe.each(LOG_QUERIES.map((query) => [query.name, query] as const))('%s', (_name, query) => {
    it.each(query.reads.map((read) => [read.message, read.outcomes.join(', '), read] as const))(
      'finds its fields on %s lines (%s) with their documented types',
      (_message, _outcomes, read) => {
        const readLines = lines.filter(
          (line) => line.message === read.message && read.outcomes.includes(String(line.outcome)),
        );
        expect(readLines.length).toBeGreaterThan(0);
        for (const line of readLines) {
          for (const [field, type] of Object.entries(read.fields)) {
            expect({ field, type: typeof fieldOf(line, field) }).toEqual({ field, type });
          }
        }
      },
    );

    it('names in its text every field it declares', () => {
      for (const read of query.reads) {
        for (const field of Object.keys(read.fields)) expect(query.query).toContain(field);
      }
    });

    it('is printed in docs/operations.md exactly as saved in the stack', () => {
      expect(readFileSync('docs/operations.md', 'utf8')).toContain(query.query);
    });
  });

  it('follows one request: the upload it triggered carries the handler request id as triggeredBy', () => {
    const upload = lines.find((line) => line.message === 'upload' && line.outcome === 'stored');
    const request = lines.find(
      (line) => line.message === 'request' && line.function_request_id === upload?.triggeredBy,
    );
    expect(request).toMatchObject({ outcome: 'miss', uploadTriggered: true });
  });
});
