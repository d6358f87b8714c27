/**
 * Property-based: whatever path or uploader event arrives, the answer is a
 * 302 or a 400 (handler) or a result (uploader), never a throw or a 5xx; a
 * redirect stays on the origin host or the bucket's S3 endpoint; no header
 * value carries CR or LF; every S3 key used is under `cache/` with no `..`.
 * Seeded: a failure prints its seed and the shrunk counterexample.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { cacheKeyProblem, checkPath, isCacheable } from '../../src/commons/paths.js';
import { refusalRecordKey } from '../../src/commons/upload-refusal.js';
import { notFound } from '../helpers/aws.js';
import { httpApiEvent } from '../helpers/events.js';
import { FaultServer } from '../helpers/fault-server.js';
import { lambdaContext } from '../helpers/lambda-context.js';
import { loadHandler, loadUploader } from '../helpers/lambdas.js';
import { captureLogs } from '../helpers/logs.js';

const SEED = 20261128;
const S3_HOST = 'rpm-cache-bucket.s3.eu-west-1.amazonaws.com';

const hostileAtom = fc.constantFrom(
  '..',
  '.',
  '',
  '/',
  '//',
  '\\',
  '@',
  '%',
  '%2e%2e',
  '%2F',
  '%0d%0a',
  '\r\n',
  '\r',
  '\n',
  '\u0000',
  '\u0085',
  '\ud800',
  'evil.example',
  '//evil.example',
  'https://evil.example',
  '?',
  '#',
  ' ',
  '+',
  '^',
  '~',
  'ü',
  '\u202e',
);
const segment = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { weight: 3, arbitrary: hostileAtom },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 1100 }).map((length) => 'a'.repeat(length)) },
);
const hostilePath = fc
  .tuple(fc.array(segment, { minLength: 1, maxLength: 6 }), fc.constantFrom('', '.rpm', '.xml', '/.rpm'))
  .map(([segments, suffix]) => `${segments.join('/')}${suffix}`);

const headerValuesHaveNoNewline = (response: APIGatewayProxyStructuredResultV2): boolean =>
  Object.values(response.headers ?? {}).every((value) => !/[\r\n]/.test(String(value)));

describe('hostile input', () => {
  const s3Mock = mockClient(S3Client);
  const lambdaMock = mockClient(LambdaClient);
  let origin: FaultServer;
  let originHas = true;
  let handler: typeof import('../../src/handler/handler.js')['handler'];
  let uploader: typeof import('../../src/uploader/uploader.js')['handler'];
  let logs: ReturnType<typeof captureLogs>;

  beforeAll(async () => {
    origin = await FaultServer.start((_request, _body, response) => {
      response.writeHead(originHas ? 200 : 404).end();
    });
    const env = {
      S3_BUCKET_NAME: 'rpm-cache-bucket',
      UPLOADER_LAMBDA_ARN: 'rpm-cache-uploader',
      ORIGIN_HOST: origin.url,
      ORIGIN_HEAD_TIMEOUT: '1',
    };
    handler = await loadHandler(env);
    uploader = await loadUploader(env);
  });

  afterAll(async () => {
    await origin.close();
  });

  beforeEach(() => {
    logs = captureLogs();
  });

  afterEach(() => {
    logs.restore();
  });

  const s3Keys = () =>
    s3Mock.calls().map((call) => {
      const input = call.args[0].input as { Key?: unknown };
      return String(input.Key);
    });

  it('the handler answers every path with a 302 on origin or S3, or a 400', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.option(hostilePath, { nil: undefined, freq: 20 }),
        fc.boolean(),
        fc.boolean(),
        async (path, cached, available) => {
          // `/@` is time travel's (its own property below): 404s and 400s that name the form are its answers.
          fc.pre(path?.startsWith('@') !== true);
          s3Mock.reset();
          lambdaMock.reset();
          lambdaMock.on(InvokeCommand).resolves({ StatusCode: 202 });
          if (cached) s3Mock.on(HeadObjectCommand).resolves({});
          else s3Mock.on(HeadObjectCommand).rejects(notFound());
          originHas = available;

          const response = (await handler(httpApiEvent(path), lambdaContext())) as APIGatewayProxyStructuredResultV2;

          expect([302, 400]).toContain(response.statusCode);
          expect(headerValuesHaveNoNewline(response)).toBe(true);
          const valid = checkPath(path).valid;
          expect(response.statusCode === 302).toBe(valid);
          if (response.statusCode === 302) {
            const location = new URL(String(response.headers?.Location));
            expect([origin.host, S3_HOST]).toContain(location.host);
            if (location.host === origin.host) expect(location.search).toBe('');
          }
          for (const key of s3Keys()) {
            // The cached copy, or the uploader's refusal of the origin's copy (read for a file not cached).
            expect([`cache/${path}`, refusalRecordKey(String(path))]).toContain(key);
            expect(key.split('/')).not.toContain('..');
            expect(cacheKeyProblem(String(path))).toBeUndefined();
          }
          for (const invoke of lambdaMock.commandCalls(InvokeCommand)) {
            const event = JSON.parse(new TextDecoder().decode(invoke.args[0].input.Payload as Uint8Array));
            expect(event).toEqual({ path, triggeredBy: expect.any(String) });
          }
        },
      ),
      { seed: SEED, numRuns: 1000 },
    );
  });

  it('the handler answers every path under /@ with a time-travel answer, reading only its snapshots, cache/ and refusals/', async () => {
    const time = fc.oneof(
      fc.constantFrom('20261101T000000Z', '20261301T000000Z', '', 'latest', '99991231T235959Z'),
      fc.string({ maxLength: 18 }).filter((text) => !text.includes('/')),
    );
    await fc.assert(
      fc.asyncProperty(time, hostilePath, async (at, rest) => {
        s3Mock.reset();
        lambdaMock.reset();
        lambdaMock.on(InvokeCommand).resolves({ StatusCode: 202 });
        s3Mock.on(HeadObjectCommand).rejects(notFound());
        // As S3 answers for a repository it holds nothing of.
        s3Mock.on(GetObjectCommand).rejects(notFound());
        s3Mock.on(ListObjectsV2Command).resolves({ KeyCount: 0 });
        const path = `@${at}/${rest}`;

        const response = (await handler(httpApiEvent(path), lambdaContext())) as APIGatewayProxyStructuredResultV2;

        expect([200, 302, 400, 404]).toContain(response.statusCode);
        expect(headerValuesHaveNoNewline(response)).toBe(true);
        if (!checkPath(path).valid) expect(response.statusCode).toBe(400);
        if (response.statusCode === 302) {
          expect([origin.host, S3_HOST]).toContain(new URL(String(response.headers?.Location)).host);
        }
        for (const call of s3Mock.calls()) {
          const { Key, Prefix } = call.args[0].input as { Key?: string; Prefix?: string };
          expect(Key ?? Prefix).toMatch(/^(cache|refusals|snapshots\/(current|history|checks))\//);
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('the uploader rejects every malformed event without throwing and touches only cache/ keys', async () => {
    const event = fc.oneof(
      fc.anything(),
      fc.record({ path: fc.anything() }),
      fc.record({ path: hostilePath }),
      fc.record({ path: hostilePath, extra: fc.anything() }),
      fc.string().map((path) => JSON.stringify({ path })),
    );
    await fc.assert(
      fc.asyncProperty(event, async (candidate) => {
        s3Mock.reset();
        // Already cached: a valid event ends without a download.
        s3Mock.on(HeadObjectCommand).resolves({});

        const result = await uploader(candidate, lambdaContext('rpm-cache-uploader'));

        const path =
          typeof candidate === 'object' && candidate !== null && !Array.isArray(candidate) && 'path' in candidate
            ? candidate.path
            : undefined;
        const acceptable =
          typeof path === 'string' &&
          checkPath(path).valid &&
          isCacheable(path, ['.rpm']) &&
          cacheKeyProblem(path) === undefined;
        expect('outcome' in result ? result.outcome : result).toBe(acceptable ? 'already-cached' : 'rejected');
        for (const key of s3Keys()) {
          expect(key).toBe(`cache/${String(path)}`);
          expect(key.split('/')).not.toContain('..');
        }
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });
});
