/**
 * Rescue from archives (#26 item 3), the handler's side: a file the origin
 * lost (404/410) that the cache does not hold, with RESCUE_URLS set, makes the
 * handler ask the uploader to rescue it with what the request says the file is
 * (`X-Cache-Expect-*`, passed on as the event's `expect`), unless a failure of
 * the same bytes is on record from the last hour: then it says so. Without
 * RESCUE_URLS, or when the origin has the file, nothing changes. S3 and Lambda
 * are aws-sdk-client-mock; the origin is a real server on 127.0.0.1.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { parseHandlerConfig } from '../../src/commons/config.js';
import { type Expectation, RESCUE_RETRY_MS, rescueRecordKey } from '../../src/commons/rescue-request.js';
import { createRedirectMemo } from '../../src/handler/recent-keys.js';
import { type ClientRequest, decideRedirect } from '../../src/handler/redirect.js';
import { headerText, redirectResponse } from '../../src/handler/responses.js';
import { notFound, objectBody, s3Error } from '../helpers/aws.js';
import { functionUrlEvent } from '../helpers/captured-events.js';
import { httpApiEvent } from '../helpers/events.js';
import { lambdaContext } from '../helpers/lambda-context.js';
import { loadHandler } from '../helpers/lambdas.js';
import { captureLogs } from '../helpers/logs.js';
import { OriginServer } from '../helpers/origin-server.js';

const REPO = 'pub/fedora/linux/updates/44/Everything/x86_64/';
const SHA = 'a'.repeat(64);
const OTHER_SHA = 'b'.repeat(64);
const TEMPLATE = 'https://archive.example/pool/{first}/{file}';

let count = 0;
/** A package path no earlier test asked for (a container remembers keys between requests). */
const freshPath = () => {
  count += 1;
  return `${REPO}Packages/g/gadget-1.${count}-1.fc44.x86_64.rpm`;
};

const recordBody = (record: object) => ({ Body: objectBody(JSON.stringify(record)) });
const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

describe('the handler with RESCUE_URLS', () => {
  const s3Mock = mockClient(S3Client);
  const lambdaMock = mockClient(LambdaClient);
  const s3 = new S3Client({});
  const lambda = new LambdaClient({});
  let origin: OriginServer;

  const config = (overrides: Record<string, string> = {}) =>
    parseHandlerConfig({
      S3_BUCKET_NAME: 'rpm-cache-bucket',
      UPLOADER_LAMBDA_ARN: 'rpm-cache-uploader',
      ORIGIN_HOST: origin.baseUrl,
      ORIGIN_HEAD_TIMEOUT: '0.3',
      RESCUE_URLS: TEMPLATE,
      ...overrides,
    });

  const decide = (path: string, request: ClientRequest = {}, overrides: Record<string, string> = {}) =>
    decideRedirect(path, { config: config(overrides), s3, lambda }, request);

  /** The uploader events the handler sent. */
  const invokedEvents = (): unknown[] =>
    lambdaMock
      .commandCalls(InvokeCommand)
      .map((call) => JSON.parse(new TextDecoder().decode(call.args[0].input.Payload as Uint8Array)));

  /** The keys the handler read with GetObject. */
  /** The objects read beside the refusal record, which every miss reads (upload-refusal.test.ts). */
  const objectsRead = () =>
    s3Mock
      .commandCalls(GetObjectCommand)
      .map((call) => call.args[0].input.Key)
      .filter((key) => !key?.startsWith('refusals/'));

  const withRecord = (path: string, record: object) =>
    s3Mock.on(GetObjectCommand, { Key: rescueRecordKey(path) }).callsFake(() => recordBody(record));

  beforeAll(async () => {
    origin = await OriginServer.start();
  });

  afterAll(async () => {
    await origin.close();
  });

  beforeEach(() => {
    origin.reset();
    s3Mock.reset();
    lambdaMock.reset();
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 202 });
    s3Mock.on(HeadObjectCommand).rejects(notFound());
    s3Mock.on(GetObjectCommand).rejects(notFound());
  });

  describe('decideRedirect', () => {
    const expected: Expectation = { sha256: SHA, size: 4096, sourceRpm: 'gadget-suite-1.0-1.fc44.src.rpm' };

    it('asks the uploader to rescue a lost file it does not hold, passing on what the request says it is', async () => {
      const path = freshPath();

      const decision = await decide(path, { expected, requestId: 'request-1' });

      expect(decision).toMatchObject({
        outcome: 'miss',
        location: `${origin.baseUrl}/${path}`,
        originStatus: 404,
        cached: false,
        rescue: 'trying',
        uploadTriggered: true,
      });
      expect(decision.rescueReason).toBeUndefined();
      expect(invokedEvents()).toEqual([{ path, triggeredBy: 'request-1', expect: expected }]);
      const invoke = lambdaMock.commandCalls(InvokeCommand)[0]?.args[0].input;
      expect(invoke).toMatchObject({ FunctionName: 'rpm-cache-uploader', InvocationType: 'Event' });
      expect(objectsRead()).toEqual([rescueRecordKey(path)]);
    });

    it('asks for a rescue of a file the origin answers 410 Gone for', async () => {
      const path = freshPath();
      origin.behaviours.set(path, { kind: 'status', status: 410 });

      expect(await decide(path, { expected })).toMatchObject({
        originStatus: 410,
        rescue: 'trying',
        uploadTriggered: true,
      });
      expect(invokedEvents()).toEqual([{ path, expect: expected }]);
    });

    it('asks without an expectation when the request names none (a snapshot may know the file)', async () => {
      const path = freshPath();

      expect(await decide(path)).toMatchObject({ rescue: 'trying', uploadTriggered: true });
      expect(invokedEvents()).toEqual([{ path }]);
    });

    it('says a rescue of the same bytes failed within the hour, with the reason, and asks nobody', async () => {
      const path = freshPath();
      const reason = 'no archive had sha256 aaaa (known from the request): https://archive.example/x: answered 404';
      const at = minutesAgo(59);
      withRecord(path, { outcome: 'failed', at, sha256: SHA, reason });

      const decision = await decide(path, { expected });

      expect(decision).toMatchObject({
        outcome: 'miss',
        location: `${origin.baseUrl}/${path}`,
        originStatus: 404,
        rescue: 'failed',
        rescueReason: `tried at ${at}, again after ${new Date(Date.parse(at) + 3_600_000).toISOString()}: ${reason}`,
        uploadTriggered: false,
      });
      expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
    });

    it('takes a failure on record as the answer for a request naming no bytes', async () => {
      const path = freshPath();
      withRecord(path, { outcome: 'failed', at: minutesAgo(5), sha256: SHA, reason: 'none had it' });

      expect(await decide(path)).toMatchObject({
        rescue: 'failed',
        rescueReason: expect.stringMatching(/^tried at .*: none had it$/),
      });
      expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
    });

    it.each([
      ['of other bytes', { sha256: OTHER_SHA, at: minutesAgo(5) }],
      ['an hour old', { sha256: SHA, at: new Date(Date.now() - RESCUE_RETRY_MS).toISOString() }],
      ['made when no checksum was known', { at: minutesAgo(5) }],
    ])('asks again when the failure on record is %s', async (_what, fields) => {
      const path = freshPath();
      withRecord(path, { outcome: 'failed', reason: 'earlier', ...fields });

      expect(await decide(path, { expected })).toMatchObject({ rescue: 'trying', uploadTriggered: true });
      expect(invokedEvents()).toEqual([{ path, expect: expected }]);
    });

    it("says a rescue of a snapshot's bytes failed to a request naming others, saying which bytes the cache looks for", async () => {
      const path = freshPath();
      withRecord(path, {
        outcome: 'failed',
        at: minutesAgo(5),
        sha256: OTHER_SHA,
        fromSnapshot: true,
        reason: 'no archive had them',
      });

      const decision = await decide(path, { expected });

      expect(decision).toMatchObject({
        rescue: 'failed',
        rescueReason: expect.stringMatching(
          new RegExp(
            `^tried at .*: a snapshot of the repository lists sha256 ${OTHER_SHA}, not the requested ${SHA}: no archive had them$`,
          ),
        ),
        uploadTriggered: false,
      });
      expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
    });

    it('asks again when the record cannot be read as one', async () => {
      const path = freshPath();
      s3Mock
        .on(GetObjectCommand, { Key: rescueRecordKey(path) })
        .callsFake(() => ({ Body: objectBody('{"outcome":"failed",') }));

      expect(await decide(path, { expected })).toMatchObject({ rescue: 'trying', uploadTriggered: true });
    });

    it('throws when the record cannot be read (S3 fails), so the fallback answers', async () => {
      const path = freshPath();
      s3Mock.on(GetObjectCommand, { Key: rescueRecordKey(path) }).rejects(s3Error('InternalError', 500));

      await expect(decide(path, { expected })).rejects.toThrow('InternalError');
      expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
    });

    it('triggers a rescue once per checksum in a container, and again for a request naming other bytes', async () => {
      const path = freshPath();
      const deps = { config: config(), s3, lambda, memo: createRedirectMemo() };

      expect(await decideRedirect(path, deps, { expected })).toMatchObject({ rescue: 'trying', uploadTriggered: true });
      expect(await decideRedirect(path, deps, { expected })).toMatchObject({
        rescue: 'trying',
        uploadTriggered: false,
        uploadAlreadyTriggered: true,
      });
      const other = { sha256: OTHER_SHA };
      expect(await decideRedirect(path, deps, { expected: other })).toMatchObject({
        rescue: 'trying',
        uploadTriggered: true,
      });
      expect(invokedEvents()).toEqual([
        { path, expect: expected },
        { path, expect: other },
      ]);
    });

    it('leaves a file the origin has as it was: a miss that triggers the upload, no rescue, no record read', async () => {
      const path = freshPath();
      origin.files.set(path, Buffer.from('rpm'));

      const decision = await decide(path, { expected });

      expect(decision).toMatchObject({ outcome: 'miss', originStatus: 200, uploadTriggered: true });
      expect(decision.rescue).toBeUndefined();
      expect(objectsRead()).toEqual([]);
    });

    it('serves a stored copy of a lost file, without a rescue', async () => {
      const path = freshPath();
      s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 3 });

      const decision = await decide(path, { expected });

      expect(decision).toMatchObject({ outcome: 'hit', originStatus: 404, uploadTriggered: false });
      expect(decision.rescue).toBeUndefined();
      expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
    });

    it.each([
      ['answers 500', { kind: 'status', status: 500 } as const],
      ['answers 403', { kind: 'status', status: 403 } as const],
      ['stalls past the timeout', { kind: 'stall' } as const],
    ])('asks for no rescue when the origin %s: the file may not be lost', async (_what, behaviour) => {
      const path = freshPath();
      origin.behaviours.set(path, behaviour);

      const decision = await decide(path, { expected });

      expect(decision).toMatchObject({ outcome: 'miss', uploadTriggered: false });
      expect(decision.rescue).toBeUndefined();
      expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
    });

    describe('an origin with a mirror', () => {
      let mirror: OriginServer;
      const rest = () => freshPath().slice('pub/'.length);
      const withMirror = () => ({ ORIGINS: `fedora=${origin.baseUrl}/pub/fedora,${mirror.baseUrl}/fedora` });

      beforeAll(async () => {
        mirror = await OriginServer.start();
      });

      afterAll(async () => {
        await mirror.close();
      });

      beforeEach(() => {
        mirror.reset();
      });

      it('asks for no rescue when the mirror serves the file (its upload is triggered instead)', async () => {
        const path = rest();
        mirror.files.set(path, Buffer.from('rpm'));

        const decision = await decide(path, { expected }, withMirror());

        expect(decision).toMatchObject({ outcome: 'miss', mirror: 1, uploadTriggered: true, originStatus: 404 });
        expect(decision.rescue).toBeUndefined();
        expect(objectsRead()).toEqual([]);
      });

      it('asks for a rescue when the mirror lost the file too', async () => {
        const path = rest();

        const decision = await decide(path, { expected }, withMirror());

        expect(decision).toMatchObject({
          outcome: 'miss',
          location: `${origin.baseUrl}/pub/${path}`,
          rescue: 'trying',
          uploadTriggered: true,
        });
        expect(invokedEvents()).toEqual([{ path, expect: expected }]);
        expect(mirror.requestsFor('HEAD')).toHaveLength(1);
      });
    });

    it('without RESCUE_URLS, answers a lost file as before: no rescue, no record read, no invoke', async () => {
      const path = freshPath();

      const decision = await decide(path, { expected }, { RESCUE_URLS: '' });

      expect(decision).toEqual({
        outcome: 'miss',
        location: `${origin.baseUrl}/${path}`,
        originStatus: 404,
        originHeadMs: expect.any(Number),
        cached: false,
        uploadTriggered: false,
        origin: 'default',
      });
      expect(objectsRead()).toEqual([]);
      expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
    });
  });

  describe('the answer’s headers', () => {
    it('say X-Cache-Rescue, and the reason only for a failure', () => {
      expect(
        redirectResponse('https://origin.example/x.rpm', 'miss', 404, { rescue: { state: 'trying' } }).headers,
      ).toEqual({
        Location: 'https://origin.example/x.rpm',
        'X-Cache': 'miss',
        'X-Cache-Origin-Status': '404',
        'X-Cache-Rescue': 'trying',
        'Cache-Control': 'no-store',
      });
      expect(
        redirectResponse('https://origin.example/x.rpm', 'miss', 404, {
          rescue: { state: 'failed', reason: 'none had it' },
        }).headers,
      ).toMatchObject({ 'X-Cache-Rescue': 'failed', 'X-Cache-Rescue-Reason': 'none had it' });
      expect(redirectResponse('https://origin.example/x.rpm', 'miss', 404).headers).not.toHaveProperty(
        'X-Cache-Rescue',
      );
    });

    it('carry a reason as printable ASCII on one line', () => {
      expect(headerText('https://a.example/x: answered 404; b: refused')).toBe(
        'https://a.example/x: answered 404; b: refused',
      );
      expect(headerText('line one\r\nX-Injected: yes')).toBe('line one??X-Injected: yes');
      expect(headerText('tab\there, NUL\u0000, DEL\u007f')).toBe('tab?here, NUL?, DEL?');
      expect(headerText('pâté 🥖')).toMatch(/^p\?t\? \?+$/);
    });

    it('cut a reason longer than 1000 characters', () => {
      const exact = 'x'.repeat(1000);
      expect(headerText(exact)).toBe(exact);
      const long = headerText(`${'y'.repeat(1500)}\n`);
      expect(long).toHaveLength(1000);
      expect(long).toBe(`${'y'.repeat(997)}...`);
    });
  });

  describe('through the whole Lambda, from both front doors', () => {
    let handler: Awaited<ReturnType<typeof loadHandler>>;

    beforeAll(async () => {
      handler = await loadHandler({
        S3_BUCKET_NAME: 'rpm-cache-bucket',
        UPLOADER_LAMBDA_ARN: 'rpm-cache-uploader',
        ORIGIN_HOST: origin.baseUrl,
        ORIGIN_HEAD_TIMEOUT: '0.3',
        RESCUE_URLS: TEMPLATE,
      });
    });

    let logs: ReturnType<typeof captureLogs>;

    beforeEach(() => {
      logs = captureLogs();
    });

    afterEach(() => {
      logs.restore();
    });

    const headers = {
      'x-cache-expect-sha256': SHA.toUpperCase(),
      'x-cache-expect-size': '4096',
      'x-cache-source-rpm': 'gadget-suite-1.0-1.fc44.src.rpm',
    };
    const answer = async (event: APIGatewayProxyEventV2) =>
      (await handler(event, lambdaContext('rpm-cache-handler'))) as APIGatewayProxyStructuredResultV2;

    const fromHttpApi = (path: string, extra: Record<string, string>) => {
      const event = httpApiEvent(path);
      return { ...event, headers: { ...event.headers, ...extra } };
    };
    const fromFunctionUrl = (path: string, extra: Record<string, string>) => {
      const event = functionUrlEvent(`/${path}`);
      return { ...event, headers: { ...event.headers, ...extra } };
    };

    it.each([
      ['an HTTP API', fromHttpApi],
      ['a Function URL', fromFunctionUrl],
    ])('passes the X-Cache-Expect-* headers from %s on to the uploader and says it is trying', async (_door, event) => {
      const path = freshPath();

      const response = await answer(event(path, headers));

      expect(response).toMatchObject({
        statusCode: 302,
        headers: { Location: `${origin.baseUrl}/${path}`, 'X-Cache': 'miss', 'X-Cache-Rescue': 'trying' },
      });
      expect(response.headers).not.toHaveProperty('X-Cache-Rescue-Reason');
      expect(invokedEvents()).toEqual([
        {
          path,
          triggeredBy: expect.any(String),
          expect: { sha256: SHA, size: 4096, sourceRpm: 'gadget-suite-1.0-1.fc44.src.rpm' },
        },
      ]);
    });

    it('passes no expectation on when the headers do not make a valid one', async () => {
      const path = freshPath();

      await answer(fromHttpApi(path, { ...headers, 'x-cache-expect-size': '-5' }));

      expect(invokedEvents()).toEqual([{ path, triggeredBy: expect.any(String) }]);
    });

    it('says a rescue failed, with the reason made safe for a header', async () => {
      const path = freshPath();
      withRecord(path, {
        outcome: 'failed',
        at: minutesAgo(1),
        sha256: SHA,
        reason: 'https://archive.example/é: answered 404\r\nSet-Cookie: x=y',
      });

      const response = await answer(fromFunctionUrl(path, headers));

      expect(response.statusCode).toBe(302);
      expect(response.headers).toMatchObject({
        'X-Cache-Rescue': 'failed',
        'X-Cache-Rescue-Reason': expect.stringMatching(
          /^tried at [^ ]+, again after [^ ]+: https:\/\/archive\.example\/\?: answered 404\?\?Set-Cookie: x=y$/,
        ),
      });
      expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
    });
  });
});
