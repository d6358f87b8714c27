/**
 * Named origins and their mirrors (`ORIGINS`), in the handler's decision and
 * the uploader's download, against real HTTP servers for the origin's first
 * URL and its mirrors.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  CompleteMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { parseCacheConfig, parseHandlerConfig } from '../../src/commons/config.js';
import { OriginHealth } from '../../src/handler/origin-health.js';
import { decideRedirect } from '../../src/handler/redirect.js';
import { cacheFromOrigin, OriginUnavailableError } from '../../src/uploader/upload.js';
import { notFound } from '../helpers/aws.js';
import { OriginServer } from '../helpers/origin-server.js';
import { syntheticRpmFor } from '../helpers/synthetic-rpm.js';

const REST = 'updates/44/Everything/x86_64/Packages/d/demo-1.0-1.fc44.x86_64.rpm';
const PATH = `fedora/${REST}`;
const TIMEOUT_S = 0.3;

describe('an origin with mirrors', () => {
  const s3Mock = mockClient(S3Client);
  const lambdaMock = mockClient(LambdaClient);
  const s3 = new S3Client({});
  const lambda = new LambdaClient({});
  let first: OriginServer;
  let mirrors: OriginServer[];
  let fallbackHost: OriginServer;

  const origins = () =>
    `fedora=${first.baseUrl}/pub/fedora/linux,${mirrors.map((mirror) => `${mirror.baseUrl}/fedora`).join(',')}`;
  const deps = () => ({
    config: parseHandlerConfig({
      S3_BUCKET_NAME: 'rpm-cache-bucket',
      UPLOADER_LAMBDA_ARN: 'rpm-cache-uploader',
      ORIGIN_HOST: fallbackHost.baseUrl,
      ORIGINS: origins(),
      ORIGIN_HEAD_TIMEOUT: String(TIMEOUT_S),
    }),
    s3,
    lambda,
  });
  const invokedPaths = () =>
    lambdaMock
      .commandCalls(InvokeCommand)
      .map(
        (call) =>
          (JSON.parse(new TextDecoder().decode(call.args[0].input.Payload as Uint8Array)) as { path: string }).path,
      );

  beforeEach(async () => {
    s3Mock.reset();
    lambdaMock.reset();
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 202 });
    s3Mock.on(HeadObjectCommand).rejects(notFound());
    first = await OriginServer.start();
    mirrors = [await OriginServer.start(), await OriginServer.start()];
    fallbackHost = await OriginServer.start();
  });

  afterEach(async () => {
    for (const server of [first, ...mirrors, fallbackHost]) await server.close();
  });

  describe('the handler', () => {
    it("asks the origin's first URL, and only it, while it serves the file", async () => {
      first.files.set(`pub/fedora/linux/${REST}`, Buffer.from('rpm'));

      const decision = await decideRedirect(PATH, deps());

      expect(decision).toMatchObject({
        outcome: 'miss',
        location: `${first.baseUrl}/pub/fedora/linux/${REST}`,
        origin: 'fedora',
        uploadTriggered: true,
      });
      expect(decision.mirror).toBeUndefined();
      expect(mirrors.flatMap((mirror) => mirror.requests)).toEqual([]);
      expect(fallbackHost.requests).toEqual([]);
      expect(invokedPaths()).toEqual([PATH]);
    });

    it('sends a file the first URL lost, and the cache lacks, to the first mirror that has it, and triggers the upload', async () => {
      mirrors[1]?.files.set(`fedora/${REST}`, Buffer.from('rpm'));

      const decision = await decideRedirect(PATH, deps());

      expect(decision).toMatchObject({
        outcome: 'miss',
        location: `${mirrors[1]?.baseUrl}/fedora/${REST}`,
        originStatus: 404,
        mirror: 2,
        uploadTriggered: true,
      });
      expect(mirrors[0]?.requestsFor('HEAD')).toHaveLength(1);
      expect(invokedPaths()).toEqual([PATH]);
    });

    it('serves the stored copy before any mirror', async () => {
      s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 3 });
      mirrors[0]?.files.set(`fedora/${REST}`, Buffer.from('rpm'));

      const decision = await decideRedirect(PATH, deps());

      expect(decision).toMatchObject({ outcome: 'hit', originStatus: 404, cached: true });
      expect(decision.location).toContain(`cache/${PATH.replace('fedora/', 'fedora/')}`);
      expect(mirrors.flatMap((mirror) => mirror.requests)).toEqual([]);
    });

    it('sends the client to the first URL, with no upload, when no mirror has the file either', async () => {
      const decision = await decideRedirect(PATH, deps());

      expect(decision).toMatchObject({ outcome: 'miss', location: `${first.baseUrl}/pub/fedora/linux/${REST}` });
      expect(decision.uploadTriggered).toBe(false);
      expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
    });

    it('answers within two ORIGIN_HEAD_TIMEOUTs when the first URL and a mirror hang', async () => {
      first.behaviours.set(`pub/fedora/linux/${REST}`, { kind: 'stall' });
      mirrors[0]?.behaviours.set(`fedora/${REST}`, { kind: 'stall' });
      mirrors[1]?.files.set(`fedora/${REST}`, Buffer.from('rpm'));
      const started = performance.now();

      const decision = await decideRedirect(PATH, deps());

      expect(decision).toMatchObject({
        originStatus: 'timeout',
        mirror: 2,
        location: `${mirrors[1]?.baseUrl}/fedora/${REST}`,
      });
      // The second mirror answered at once: no need to wait for the first mirror's timeout.
      expect(performance.now() - started).toBeLessThan(2 * TIMEOUT_S * 1000 + 500);
    });

    it('goes straight to the mirrors while the first URL is assumed offline', async () => {
      mirrors[0]?.files.set(`fedora/${REST}`, Buffer.from('rpm'));
      const health = new OriginHealth(60_000);
      health.noteProbe({ status: 'timeout', available: false, error: 'TimeoutError' });
      // Still down: the recovery probe (one background HEAD) must not hold the answer.
      first.behaviours.set(`pub/fedora/linux/${REST}`, { kind: 'stall' });
      const started = performance.now();

      const decision = await decideRedirect(PATH, {
        ...deps(),
        health: (name: string) => (name === 'fedora' ? health : new OriginHealth(0)),
      });

      expect(decision).toMatchObject({ originStatus: 'assumed-offline', mirror: 1, uploadTriggered: true });
      expect(performance.now() - started).toBeLessThan(TIMEOUT_S * 1000);
    });

    it('sends a path no origin claims to ORIGIN_HOST, whole', async () => {
      const decision = await decideRedirect(`pub/${REST}`, deps());

      expect(decision).toMatchObject({ origin: 'default', location: `${fallbackHost.baseUrl}/pub/${REST}` });
    });
  });

  describe('the uploader', () => {
    const uploadDeps = () => ({
      config: parseCacheConfig({
        S3_BUCKET_NAME: 'rpm-cache-bucket',
        ORIGIN_HOST: fallbackHost.baseUrl,
        ORIGINS: origins(),
      }),
      s3,
      originIdleTimeoutMs: 500,
    });

    beforeEach(() => {
      s3Mock.on(GetObjectCommand).rejects(notFound());
      s3Mock.on(PutObjectCommand).resolves({ ETag: '"etag"' });
      s3Mock.on(CompleteMultipartUploadCommand).resolves({ ETag: '"etag"' });
    });

    it('downloads from the first URL that serves the file, in order, and stores it under cache/<name>/<rest>', async () => {
      const rpm = syntheticRpmFor(REST);
      mirrors[1]?.files.set(`fedora/${REST}`, rpm);

      const result = await cacheFromOrigin(PATH, uploadDeps());

      expect(result).toMatchObject({
        outcome: 'stored',
        bytes: rpm.length,
        sourceUrl: `${mirrors[1]?.baseUrl}/fedora/${REST}`,
      });
      expect(s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input.Key).toBe(`cache/${PATH}`);
      expect(first.requestsFor('GET')).toHaveLength(1);
      expect(mirrors[0]?.requestsFor('GET')).toHaveLength(1);
    });

    it('says origin-missing only when every URL answered 404/410', async () => {
      mirrors[0]?.behaviours.set(`fedora/${REST}`, { kind: 'status', status: 410 });

      expect(await cacheFromOrigin(PATH, uploadDeps())).toMatchObject({ outcome: 'origin-missing', originStatus: 404 });
    });

    it('throws for a retry when a URL failed and none served the file', async () => {
      first.behaviours.set(`pub/fedora/linux/${REST}`, { kind: 'status', status: 503 });

      await expect(cacheFromOrigin(PATH, uploadDeps())).rejects.toThrow(OriginUnavailableError);
      expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
    });
  });
});
