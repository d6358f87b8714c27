import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { parseCacheConfig } from '../../src/commons/config.js';
import { cacheFromOrigin, IncompleteDownloadError, OriginUnavailableError } from '../../src/uploader/upload.js';
import { ConditionalWriteConflictError } from '../../src/uploader/upload-errors.js';
import { notFound, objectBody, s3Error } from '../helpers/aws.js';
import { OriginServer, refusedBaseUrl } from '../helpers/origin-server.js';
import { syntheticRpmFor } from '../helpers/synthetic-rpm.js';

const PACKAGE = 'pub/Packages/d/demo-c++-1.0^20260101git-1.noarch.rpm';
const MiB = 1024 * 1024;

describe('cacheFromOrigin', () => {
  const s3Mock = mockClient(S3Client);
  const s3 = new S3Client({});
  let origin: OriginServer;

  const deps = (originBaseUrl = origin.baseUrl) => ({
    config: parseCacheConfig({ S3_BUCKET_NAME: 'rpm-cache-bucket', ORIGIN_HOST: originBaseUrl }),
    s3,
    partSize: 5 * MiB,
    originIdleTimeoutMs: 300,
  });

  /** Nothing was committed: no object written into the cache (a refusal's record may be), no multipart upload completed. */
  const expectNothingCommitted = () => {
    const cachePuts = s3Mock
      .commandCalls(PutObjectCommand)
      .filter((call) => !String(call.args[0].input.Key).startsWith('refusals/'));
    expect(cachePuts).toHaveLength(0);
    expect(s3Mock.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  };

  beforeEach(async () => {
    s3Mock.reset();
    s3Mock.on(HeadObjectCommand).rejects(notFound());
    // No repository snapshot above any file (the listing check has one in snapshot.test.ts).
    s3Mock.on(GetObjectCommand).rejects(notFound());
    s3Mock.on(PutObjectCommand).resolves({ ETag: '"etag"' });
    s3Mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
    s3Mock
      .on(UploadPartCommand)
      .callsFake((input: { PartNumber?: number }) => ({ ETag: `"part-${input.PartNumber}"` }));
    s3Mock.on(CompleteMultipartUploadCommand).resolves({ ETag: '"etag-3"' });
    s3Mock.on(AbortMultipartUploadCommand).resolves({});
    origin = await OriginServer.start();
  });

  afterEach(async () => {
    await origin.close();
  });

  it('stores a small file with one conditional PutObject of exactly the origin bytes', async () => {
    const rpm = syntheticRpmFor(PACKAGE, { payloadBytes: 64 * 1024 });
    origin.files.set(PACKAGE, rpm);

    const result = await cacheFromOrigin(PACKAGE, deps());

    expect(result).toEqual({
      outcome: 'stored',
      originStatus: 200,
      bytes: rpm.length,
      repositoryCheck: { result: 'no-snapshot' },
      sourceUrl: `${origin.baseUrl}/pub/Packages/d/demo-c++-1.0%5E20260101git-1.noarch.rpm`,
    });
    const puts = s3Mock.commandCalls(PutObjectCommand);
    expect(puts).toHaveLength(1);
    const input = puts[0]?.args[0].input;
    expect(input?.Bucket).toBe('rpm-cache-bucket');
    expect(input?.Key).toBe(`cache/${PACKAGE}`);
    expect(input?.IfNoneMatch).toBe('*');
    expect(Buffer.compare(Buffer.from(input?.Body as Uint8Array), rpm)).toBe(0);
    expect(origin.requestsFor('GET').map((request) => request.url)).toEqual([
      '/pub/Packages/d/demo-c++-1.0%5E20260101git-1.noarch.rpm',
    ]);
  });

  it('streams a large file in parts and commits it once, conditionally', async () => {
    const rpm = syntheticRpmFor(PACKAGE, { payloadBytes: 12 * MiB + 123 });
    origin.files.set(PACKAGE, rpm);

    const result = await cacheFromOrigin(PACKAGE, deps());

    expect(result).toEqual({
      outcome: 'stored',
      originStatus: 200,
      bytes: rpm.length,
      repositoryCheck: { result: 'no-snapshot' },
      sourceUrl: `${origin.baseUrl}/pub/Packages/d/demo-c++-1.0%5E20260101git-1.noarch.rpm`,
    });
    expect(s3Mock.commandCalls(CreateMultipartUploadCommand)[0]?.args[0].input.ContentType).toBe('application/x-rpm');
    const parts = s3Mock
      .commandCalls(UploadPartCommand)
      .map((call) => call.args[0].input)
      .sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    expect(parts.map((part) => part.PartNumber)).toEqual([1, 2, 3]);
    expect(Buffer.compare(Buffer.concat(parts.map((part) => Buffer.from(part.Body as Uint8Array))), rpm)).toBe(0);
    const completes = s3Mock.commandCalls(CompleteMultipartUploadCommand);
    expect(completes).toHaveLength(1);
    expect(completes[0]?.args[0].input.IfNoneMatch).toBe('*');
    expect(s3Mock.commandCalls(AbortMultipartUploadCommand)).toHaveLength(0);
  });

  describe('compression', () => {
    it('asks for the file uncompressed, so an origin that honours Accept-Encoding sends the real bytes', async () => {
      const rpm = syntheticRpmFor(PACKAGE, { payloadBytes: 20_000 });
      origin.behaviours.set(PACKAGE, {
        kind: 'custom',
        respond: (request, response) => {
          const wantsGzip = /gzip/.test(String(request.headers['accept-encoding'] ?? ''));
          const body = wantsGzip ? gzipSync(rpm) : rpm;
          response.writeHead(200, {
            'content-length': String(body.length),
            ...(wantsGzip ? { 'content-encoding': 'gzip' } : {}),
          });
          response.end(body);
        },
      });

      const result = await cacheFromOrigin(PACKAGE, deps());

      expect(result).toMatchObject({ outcome: 'stored', bytes: rpm.length });
      expect(
        Buffer.from(
          s3Mock.commandCalls(PutObjectCommand).find((call) => call.args[0].input.Key?.startsWith('cache/'))?.args[0]
            .input.Body as Uint8Array,
        ),
      ).toEqual(rpm);
    });

    it('stores a file sent with Content-Encoding: identity, which is no encoding at all', async () => {
      const rpm = syntheticRpmFor(PACKAGE, { payloadBytes: 2000 });
      origin.behaviours.set(PACKAGE, {
        kind: 'custom',
        respond: (_request, response) => {
          response.writeHead(200, { 'content-length': String(rpm.length), 'content-encoding': 'identity' });
          response.end(rpm);
        },
      });

      expect(await cacheFromOrigin(PACKAGE, deps())).toMatchObject({ outcome: 'stored', bytes: rpm.length });
    });

    it('refuses, without a retry, an origin that compresses anyway: those bytes are not the file', async () => {
      const rpm = syntheticRpmFor(PACKAGE, { payloadBytes: 20_000 });
      origin.behaviours.set(PACKAGE, {
        kind: 'custom',
        respond: (_request, response) => {
          const body = gzipSync(rpm);
          response.writeHead(200, { 'content-length': String(body.length), 'content-encoding': 'gzip' });
          response.end(body);
        },
      });

      const result = await cacheFromOrigin(PACKAGE, deps());

      expect(result).toMatchObject({ outcome: 'corrupt', reason: expect.stringContaining('Content-Encoding: gzip') });
      expectNothingCommitted();
    });
  });

  describe('a refused copy', () => {
    const refusalRecords = () =>
      s3Mock
        .commandCalls(PutObjectCommand)
        .map((call) => call.args[0].input)
        .filter((input) => String(input.Key).startsWith('refusals/'));

    it("is recorded under refusals/<path>.json with the reason, the origin's validators and the record's end", async () => {
      origin.files.set(PACKAGE, Buffer.from('<html>mirror maintenance</html>'.repeat(40)));
      const before = Date.now();

      const result = await cacheFromOrigin(PACKAGE, deps());

      expect(result.outcome).toBe('corrupt');
      const [put, ...more] = refusalRecords();
      expect(more).toEqual([]);
      expect(put?.Key).toBe(`refusals/${PACKAGE}.json`);
      const record = JSON.parse(String(put?.Body)) as Record<string, unknown>;
      expect(record).toEqual({
        outcome: 'refused',
        at: expect.any(String),
        until: expect.any(String),
        reason: result.reason,
        validators: { etag: expect.stringMatching(/^"[0-9a-f]{16}"$/), contentLength: 31 * 40 },
      });
      const at = Date.parse(String(record.at));
      expect(at).toBeGreaterThanOrEqual(before - 1000);
      expect(Date.parse(String(record.until)) - at).toBe(86_400_000);
      expect(result.refusedCopy).toEqual(record.validators);
    });

    it('is recorded for an origin that compresses anyway, with its validators', async () => {
      origin.behaviours.set(PACKAGE, {
        kind: 'custom',
        respond: (_request, response) => {
          const body = gzipSync(syntheticRpmFor(PACKAGE, { payloadBytes: 2000 }));
          response.writeHead(200, {
            'content-length': String(body.length),
            'content-encoding': 'gzip',
            'last-modified': 'Tue, 01 Dec 2026 10:00:00 GMT',
          });
          response.end(body);
        },
      });

      await cacheFromOrigin(PACKAGE, deps());

      const [put] = refusalRecords();
      expect(JSON.parse(String(put?.Body))).toMatchObject({
        validators: { lastModified: 'Tue, 01 Dec 2026 10:00:00 GMT', contentLength: expect.any(Number) },
        reason: expect.stringContaining('Content-Encoding: gzip'),
      });
    });

    it('is not recorded with UPLOAD_REFUSAL_TTL=0', async () => {
      origin.files.set(PACKAGE, Buffer.from('not an rpm at all, just text'.repeat(10)));
      const config = parseCacheConfig({
        S3_BUCKET_NAME: 'rpm-cache-bucket',
        ORIGIN_HOST: origin.baseUrl,
        UPLOAD_REFUSAL_TTL: '0',
      });

      expect((await cacheFromOrigin(PACKAGE, { ...deps(), config })).outcome).toBe('corrupt');
      expect(refusalRecords()).toEqual([]);
    });

    it('still ends as a refusal when S3 cannot take the record, and says so (a retry would download it again)', async () => {
      origin.files.set(PACKAGE, Buffer.from('not an rpm at all, just text'.repeat(10)));
      s3Mock.on(PutObjectCommand, { Key: `refusals/${PACKAGE}.json` }).rejects(s3Error('InternalError', 500));

      const result = await cacheFromOrigin(PACKAGE, deps());

      expect(result).toMatchObject({ outcome: 'corrupt', refusalNotRecorded: expect.any(String) });
    });

    it('is not recorded when the download breaks off (a transient failure, retried)', async () => {
      const rpm = syntheticRpmFor(PACKAGE, { payloadBytes: 50_000 });
      origin.behaviours.set(PACKAGE, { kind: 'truncate', bytes: 10_000 });
      origin.files.set(PACKAGE, rpm);

      await expect(cacheFromOrigin(PACKAGE, deps())).rejects.toThrow();
      expect(refusalRecords()).toEqual([]);
    });
  });

  describe('redirects', () => {
    it('follows a redirect on the origin itself and logs where the bytes came from', async () => {
      const rpm = syntheticRpmFor(PACKAGE, { payloadBytes: 1000 });
      origin.files.set('mirror/x.rpm', rpm);
      origin.behaviours.set(PACKAGE, { kind: 'status', status: 302, headers: { location: '/mirror/x.rpm' } });

      expect(await cacheFromOrigin(PACKAGE, deps())).toMatchObject({
        outcome: 'stored',
        sourceUrl: `${origin.baseUrl}/mirror/x.rpm`,
      });
    });

    it('reports where the bytes came from without the query a mirror’s redirect may carry (tokens)', async () => {
      origin.files.set('mirror/x.rpm', syntheticRpmFor(PACKAGE));
      origin.behaviours.set(PACKAGE, {
        kind: 'status',
        status: 302,
        headers: { location: '/mirror/x.rpm?token=secret#part' },
      });

      const result = await cacheFromOrigin(PACKAGE, deps());

      expect(result).toMatchObject({ outcome: 'stored', sourceUrl: `${origin.baseUrl}/mirror/x.rpm` });
    });

    it('does not follow a redirect to another host over plain http, nor store what is there', async () => {
      const elsewhere = await OriginServer.start();
      try {
        elsewhere.files.set('x.rpm', syntheticRpmFor(PACKAGE, { payloadBytes: 1000 }));
        origin.behaviours.set(PACKAGE, {
          kind: 'status',
          status: 302,
          headers: { location: `${elsewhere.baseUrl}/x.rpm` },
        });

        await expect(cacheFromOrigin(PACKAGE, deps())).rejects.toThrow(
          /answered 302: redirect to http:\/\/127\.0\.0\.1:\d+ refused/,
        );
        expect(elsewhere.requests).toHaveLength(0);
        expectNothingCommitted();
      } finally {
        await elsewhere.close();
      }
    });

    it('gives up after five redirects', async () => {
      for (let hop = 0; hop < 6; hop += 1) {
        origin.behaviours.set(`loop/${hop}.rpm`, {
          kind: 'status',
          status: 301,
          headers: { location: `/loop/${hop + 1}.rpm` },
        });
      }
      origin.behaviours.set(PACKAGE, { kind: 'status', status: 302, headers: { location: '/loop/0.rpm' } });

      await expect(cacheFromOrigin(PACKAGE, deps())).rejects.toThrow(/more than 5 redirects/);
      expectNothingCommitted();
    });
  });

  it('does nothing when the file is cached already', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 10 });
    origin.files.set(PACKAGE, Buffer.from('rpm'));

    expect(await cacheFromOrigin(PACKAGE, deps())).toEqual({ outcome: 'already-cached' });
    expect(origin.requests).toHaveLength(0);
    expectNothingCommitted();
  });

  it.each([404, 410])('finishes without storing or throwing when origin answers %i', async (status) => {
    origin.behaviours.set(PACKAGE, { kind: 'status', status });

    expect(await cacheFromOrigin(PACKAGE, deps())).toEqual({ outcome: 'origin-missing', originStatus: status });
    expectNothingCommitted();
  });

  it.each([500, 503, 403])('throws a retryable error when origin answers %i', async (status) => {
    origin.behaviours.set(PACKAGE, { kind: 'status', status });

    await expect(cacheFromOrigin(PACKAGE, deps())).rejects.toThrow(OriginUnavailableError);
    expectNothingCommitted();
  });

  it('throws a retryable error when origin refuses the connection', async () => {
    await expect(cacheFromOrigin(PACKAGE, deps(await refusedBaseUrl()))).rejects.toThrow(OriginUnavailableError);
    expectNothingCommitted();
  });

  it('throws when origin never answers, after the idle timeout', async () => {
    origin.behaviours.set(PACKAGE, { kind: 'stall' });

    await expect(cacheFromOrigin(PACKAGE, deps())).rejects.toThrow(OriginUnavailableError);
    expectNothingCommitted();
  });

  it('stores nothing when the connection drops mid-body of a small file', async () => {
    origin.files.set(PACKAGE, syntheticRpmFor(PACKAGE, { payloadBytes: 100_000 }));
    origin.behaviours.set(PACKAGE, { kind: 'truncate', bytes: 40_000 });

    await expect(cacheFromOrigin(PACKAGE, deps())).rejects.toThrow(IncompleteDownloadError);
    expectNothingCommitted();
  });

  it('aborts the multipart upload when the connection drops after some parts', async () => {
    origin.files.set(PACKAGE, syntheticRpmFor(PACKAGE, { payloadBytes: 16 * MiB }));
    // Cut late enough that the first parts are out: the abort path is what is under test.
    origin.behaviours.set(PACKAGE, { kind: 'truncate', bytes: 11 * MiB, afterMs: 500 });

    await expect(cacheFromOrigin(PACKAGE, deps())).rejects.toThrow(IncompleteDownloadError);
    expect(s3Mock.commandCalls(UploadPartCommand).length).toBeGreaterThanOrEqual(1);
    expect(s3Mock.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    expect(s3Mock.commandCalls(AbortMultipartUploadCommand)[0]?.args[0].input).toEqual({
      Bucket: 'rpm-cache-bucket',
      Key: `cache/${PACKAGE}`,
      UploadId: 'upload-1',
    });
    expectNothingCommitted();
  });

  it('gives up and stores nothing when origin stalls mid-body', async () => {
    origin.files.set(PACKAGE, syntheticRpmFor(PACKAGE, { payloadBytes: 7 * MiB }));
    origin.behaviours.set(PACKAGE, { kind: 'stall-body', bytes: 6 * MiB });

    await expect(cacheFromOrigin(PACKAGE, deps())).rejects.toThrow('origin sent nothing for 300 ms');
    expect(s3Mock.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    expectNothingCommitted();
  });

  it('aborts the multipart upload when S3 fails a part, and throws the S3 error', async () => {
    origin.files.set(PACKAGE, syntheticRpmFor(PACKAGE, { payloadBytes: 11 * MiB }));
    s3Mock.on(UploadPartCommand).rejects(s3Error('InternalError', 500));

    await expect(cacheFromOrigin(PACKAGE, deps())).rejects.toThrow('InternalError');
    expect(s3Mock.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    expectNothingCommitted();
  });

  it('treats 412 PreconditionFailed on commit as another uploader having won', async () => {
    const rpm = syntheticRpmFor(PACKAGE, { payloadBytes: 1000 });
    origin.files.set(PACKAGE, rpm);
    s3Mock.on(PutObjectCommand).rejects(s3Error('PreconditionFailed', 412));

    expect(await cacheFromOrigin(PACKAGE, deps())).toEqual({
      outcome: 'lost-race',
      originStatus: 200,
      bytes: rpm.length,
      repositoryCheck: { result: 'no-snapshot' },
    });
  });

  it('throws 409 ConditionalRequestConflict on commit for a retry: nothing was decided, the file may be stored nowhere', async () => {
    origin.files.set(PACKAGE, syntheticRpmFor(PACKAGE, { payloadBytes: 1000 }));
    s3Mock.on(PutObjectCommand).rejects(s3Error('ConditionalRequestConflict', 409));

    await expect(cacheFromOrigin(PACKAGE, deps())).rejects.toThrow(ConditionalWriteConflictError);
  });

  it('aborts the multipart upload and throws for a retry when the commit meets a 409', async () => {
    origin.files.set(PACKAGE, syntheticRpmFor(PACKAGE, { payloadBytes: 11 * MiB }));
    s3Mock.on(CompleteMultipartUploadCommand).rejects(s3Error('ConditionalRequestConflict', 409));

    await expect(cacheFromOrigin(PACKAGE, deps())).rejects.toThrow(ConditionalWriteConflictError);
    expect(s3Mock.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
  });

  it('aborts the multipart upload when the commit loses the race', async () => {
    origin.files.set(PACKAGE, syntheticRpmFor(PACKAGE, { payloadBytes: 11 * MiB }));
    s3Mock.on(CompleteMultipartUploadCommand).rejects(s3Error('PreconditionFailed', 412));

    expect((await cacheFromOrigin(PACKAGE, deps())).outcome).toBe('lost-race');
    expect(s3Mock.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
  });

  describe('verification', () => {
    const expectCorrupt = async (reason: string) => {
      const result = await cacheFromOrigin(PACKAGE, deps());
      expect(result).toMatchObject({ outcome: 'corrupt', originStatus: 200 });
      expect(result.reason).toContain(reason);
      expectNothingCommitted();
      expect(s3Mock.commandCalls(AbortMultipartUploadCommand)).toHaveLength(
        s3Mock.commandCalls(CreateMultipartUploadCommand).length,
      );
    };

    it('refuses an HTML page served with 200 instead of the RPM', async () => {
      origin.files.set(
        PACKAGE,
        Buffer.from(`<!DOCTYPE html><html><body>${'mirror maintenance '.repeat(100)}</body></html>`),
      );

      await expectCorrupt('not an RPM');
    });

    it('refuses an RPM whose payload was altered', async () => {
      const rpm = syntheticRpmFor(PACKAGE, { payloadBytes: 50_000 });
      rpm[rpm.length - 10] = (rpm[rpm.length - 10] ?? 0) ^ 0xff;
      origin.files.set(PACKAGE, rpm);

      await expectCorrupt('does not match');
    });

    it('refuses a large altered RPM after its parts went up, and aborts the multipart upload', async () => {
      const rpm = syntheticRpmFor(PACKAGE, { payloadBytes: 11 * MiB });
      rpm[rpm.length - 1] = (rpm[rpm.length - 1] ?? 0) ^ 0x01;
      origin.files.set(PACKAGE, rpm);

      await expectCorrupt('does not match');
      expect(s3Mock.commandCalls(UploadPartCommand).length).toBeGreaterThanOrEqual(2);
      expect(s3Mock.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    });

    it('refuses an RPM cut short under a matching, wrong Content-Length', async () => {
      const rpm = syntheticRpmFor(PACKAGE, { payloadBytes: 20_000 });
      origin.behaviours.set(PACKAGE, {
        kind: 'custom',
        respond: (_request, response) => {
          response
            .writeHead(200, { 'content-length': String(rpm.length - 500) })
            .end(rpm.subarray(0, rpm.length - 500));
        },
      });

      await expectCorrupt('the signature says');
    });

    it('throws a retryable error when the connection closes before the announced length', async () => {
      const rpm = syntheticRpmFor(PACKAGE, { payloadBytes: 20_000 });
      origin.behaviours.set(PACKAGE, {
        kind: 'custom',
        respond: (request) => {
          // Announce more than is sent, then close the connection.
          request.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${rpm.length + 10}\r\nconnection: close\r\n\r\n`);
          request.socket.end(rpm);
        },
      });

      await expect(cacheFromOrigin(PACKAGE, deps())).rejects.toThrow(IncompleteDownloadError);
      expectNothingCommitted();
    });

    it('checks only the length of a cached file that is not an RPM', async () => {
      const iso = randomBytes(30_000);
      origin.files.set('images/boot.iso', iso);
      const config = parseCacheConfig({
        S3_BUCKET_NAME: 'rpm-cache-bucket',
        ORIGIN_HOST: origin.baseUrl,
        CACHE_EXTENSIONS: '.rpm .iso',
      });

      const result = await cacheFromOrigin('images/boot.iso', { config, s3 });

      expect(result).toEqual({
        outcome: 'stored',
        originStatus: 200,
        bytes: iso.length,
        sourceUrl: `${origin.baseUrl}/images/boot.iso`,
      });
      expect(s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input.ContentType).toBe('application/octet-stream');
    });
  });

  describe('download claims', () => {
    const claim = { owner: 'request-1', ttlMs: 60_000, now: () => 1_000_000 };
    const claimBody = (owner: string, expiresAt: number) => objectBody(JSON.stringify({ owner, expiresAt }));

    it('claims the download, downloads once, then releases the claim', async () => {
      const rpm = syntheticRpmFor(PACKAGE);
      origin.files.set(PACKAGE, rpm);

      const result = await cacheFromOrigin(PACKAGE, { ...deps(), claim });

      expect(result.outcome).toBe('stored');
      const claimPut = s3Mock
        .commandCalls(PutObjectCommand)
        .find((call) => call.args[0].input.Key === `claims/${PACKAGE}`);
      expect(claimPut?.args[0].input.IfNoneMatch).toBe('*');
      expect(JSON.parse(String(claimPut?.args[0].input.Body))).toEqual({ owner: 'request-1', expiresAt: 1_060_000 });
      expect(s3Mock.commandCalls(DeleteObjectCommand).map((call) => call.args[0].input.Key)).toEqual([
        `claims/${PACKAGE}`,
      ]);
    });

    it('looks again once it holds the claim: a file committed meanwhile is not downloaded twice', async () => {
      origin.files.set(PACKAGE, syntheticRpmFor(PACKAGE));
      // Not cached at the first look; committed by the previous claim holder before our claim.
      s3Mock.on(HeadObjectCommand).rejectsOnce(notFound()).resolves({ ContentLength: 10 });

      const result = await cacheFromOrigin(PACKAGE, { ...deps(), claim });

      expect(result).toEqual({ outcome: 'already-cached' });
      expect(origin.requests).toHaveLength(0);
      expect(s3Mock.commandCalls(DeleteObjectCommand).map((call) => call.args[0].input.Key)).toEqual([
        `claims/${PACKAGE}`,
      ]);
    });

    it('leaves the download to the live holder of the claim, without asking origin', async () => {
      origin.files.set(PACKAGE, syntheticRpmFor(PACKAGE));
      s3Mock
        .on(PutObjectCommand, { Key: `claims/${PACKAGE}` })
        .rejects(s3Error('PreconditionFailed', 412))
        .on(GetObjectCommand, { Key: `claims/${PACKAGE}` })
        .resolves({ Body: claimBody('request-0', 1_030_000), ETag: '"claim-etag"' });

      const result = await cacheFromOrigin(PACKAGE, { ...deps(), claim });

      expect(result).toMatchObject({ outcome: 'claimed-elsewhere' });
      expect(result.reason).toContain('request-0');
      expect(origin.requests).toHaveLength(0);
      expect(s3Mock.commandCalls(DeleteObjectCommand)).toHaveLength(0);
    });

    it('takes over its own live claim (Lambda retried a crashed run with the same request id)', async () => {
      origin.files.set(PACKAGE, syntheticRpmFor(PACKAGE));
      s3Mock
        .on(PutObjectCommand, { Key: `claims/${PACKAGE}`, IfNoneMatch: '*' })
        .rejects(s3Error('PreconditionFailed', 412))
        .on(GetObjectCommand, { Key: `claims/${PACKAGE}` })
        .resolves({ Body: claimBody(claim.owner, 1_030_000), ETag: '"own-etag"' });

      const result = await cacheFromOrigin(PACKAGE, { ...deps(), claim });

      expect(result.outcome).toBe('stored');
      const takeover = s3Mock
        .commandCalls(PutObjectCommand)
        .find((call) => call.args[0].input.Key === `claims/${PACKAGE}` && call.args[0].input.IfMatch !== undefined);
      expect(takeover?.args[0].input.IfMatch).toBe('"own-etag"');
    });

    it('writes again after a 409 (a conflicting write in flight) when the claim is still free, as AWS says', async () => {
      origin.files.set(PACKAGE, syntheticRpmFor(PACKAGE));
      s3Mock
        .on(PutObjectCommand, { Key: `claims/${PACKAGE}` })
        .rejectsOnce(s3Error('ConditionalRequestConflict', 409))
        .rejectsOnce(s3Error('ConditionalRequestConflict', 409))
        .resolves({})
        .on(GetObjectCommand, { Key: `claims/${PACKAGE}` })
        .rejects(s3Error('NoSuchKey', 404));

      expect((await cacheFromOrigin(PACKAGE, { ...deps(), claim })).outcome).toBe('stored');
      const claimWrites = s3Mock
        .commandCalls(PutObjectCommand)
        .filter((call) => call.args[0].input.Key === `claims/${PACKAGE}`);
      expect(claimWrites).toHaveLength(3);
    });

    it('stands aside after a 409 when the write in flight was another uploader’s claim', async () => {
      origin.files.set(PACKAGE, syntheticRpmFor(PACKAGE));
      s3Mock
        .on(PutObjectCommand, { Key: `claims/${PACKAGE}` })
        .rejects(s3Error('ConditionalRequestConflict', 409))
        .on(GetObjectCommand, { Key: `claims/${PACKAGE}` })
        .resolves({ Body: claimBody('request-0', 1_030_000), ETag: '"claim-etag"' });

      expect(await cacheFromOrigin(PACKAGE, { ...deps(), claim })).toMatchObject({ outcome: 'claimed-elsewhere' });
      expect(origin.requests).toHaveLength(0);
    });

    it('throws, for Lambda to retry later, when claim writes keep meeting 409 and the claim stays free', async () => {
      origin.files.set(PACKAGE, syntheticRpmFor(PACKAGE));
      s3Mock
        .on(PutObjectCommand, { Key: `claims/${PACKAGE}` })
        .rejects(s3Error('ConditionalRequestConflict', 409))
        .on(GetObjectCommand, { Key: `claims/${PACKAGE}` })
        .rejects(s3Error('NoSuchKey', 404));

      await expect(cacheFromOrigin(PACKAGE, { ...deps(), claim })).rejects.toThrow('kept changing: 8 attempts');
      expect(origin.requests).toHaveLength(0);
    });

    it('takes over an expired claim, conditionally on its ETag', async () => {
      origin.files.set(PACKAGE, syntheticRpmFor(PACKAGE));
      s3Mock
        .on(PutObjectCommand, { Key: `claims/${PACKAGE}`, IfNoneMatch: '*' })
        .rejects(s3Error('PreconditionFailed', 412))
        .on(GetObjectCommand, { Key: `claims/${PACKAGE}` })
        .resolves({ Body: claimBody('dead-request', 999_999), ETag: '"stale-etag"' });

      const result = await cacheFromOrigin(PACKAGE, { ...deps(), claim });

      expect(result.outcome).toBe('stored');
      const takeover = s3Mock
        .commandCalls(PutObjectCommand)
        .find((call) => call.args[0].input.Key === `claims/${PACKAGE}` && call.args[0].input.IfMatch !== undefined);
      expect(takeover?.args[0].input.IfMatch).toBe('"stale-etag"');
    });

    it('backs off when another uploader takes over the expired claim first', async () => {
      origin.files.set(PACKAGE, syntheticRpmFor(PACKAGE));
      s3Mock
        .on(PutObjectCommand, { Key: `claims/${PACKAGE}` })
        .rejects(s3Error('PreconditionFailed', 412))
        .on(GetObjectCommand, { Key: `claims/${PACKAGE}` })
        .resolves({ Body: claimBody('dead-request', 999_999), ETag: '"stale-etag"' });

      expect((await cacheFromOrigin(PACKAGE, { ...deps(), claim })).outcome).toBe('claimed-elsewhere');
      expect(origin.requests).toHaveLength(0);
    });

    it('writes the claim as JSON naming its owner and expiry', async () => {
      origin.files.set(PACKAGE, syntheticRpmFor(PACKAGE));

      await cacheFromOrigin(PACKAGE, { ...deps(), claim });

      const claimPut = s3Mock
        .commandCalls(PutObjectCommand)
        .find((call) => call.args[0].input.Key === `claims/${PACKAGE}`);
      expect(claimPut?.args[0].input.ContentType).toBe('application/json');
    });

    it.each([
      ['not JSON', 'not json'],
      ['JSON null', 'null'],
      ['a JSON string', '"a claim"'],
      ['an owner of the wrong type', JSON.stringify({ owner: 7, expiresAt: 9_999_999 })],
      ['an expiry of the wrong type', JSON.stringify({ owner: 'x', expiresAt: 'later' })],
    ])('takes over a claim whose body is %s, as an expired one', async (_name, body) => {
      origin.files.set(PACKAGE, syntheticRpmFor(PACKAGE));
      s3Mock
        .on(PutObjectCommand, { Key: `claims/${PACKAGE}`, IfNoneMatch: '*' })
        .rejects(s3Error('PreconditionFailed', 412))
        .on(GetObjectCommand, { Key: `claims/${PACKAGE}` })
        .resolves({ Body: objectBody(body), ETag: '"odd-etag"' });

      expect((await cacheFromOrigin(PACKAGE, { ...deps(), claim })).outcome).toBe('stored');
    });

    it('treats a claim expiring exactly now as expired', async () => {
      origin.files.set(PACKAGE, syntheticRpmFor(PACKAGE));
      s3Mock
        .on(PutObjectCommand, { Key: `claims/${PACKAGE}`, IfNoneMatch: '*' })
        .rejects(s3Error('PreconditionFailed', 412))
        .on(GetObjectCommand, { Key: `claims/${PACKAGE}` })
        .resolves({ Body: claimBody('request-0', 1_000_000), ETag: '"etag"' });

      expect((await cacheFromOrigin(PACKAGE, { ...deps(), claim })).outcome).toBe('stored');
    });

    it('stands aside for a claim it cannot take over safely (no ETag)', async () => {
      origin.files.set(PACKAGE, syntheticRpmFor(PACKAGE));
      s3Mock
        .on(PutObjectCommand, { Key: `claims/${PACKAGE}` })
        .rejects(s3Error('PreconditionFailed', 412))
        .on(GetObjectCommand, { Key: `claims/${PACKAGE}` })
        .resolves({ Body: claimBody('dead-request', 999_999) });

      expect(await cacheFromOrigin(PACKAGE, { ...deps(), claim })).toEqual({
        outcome: 'claimed-elsewhere',
        reason: `held by a claim without an ETag until ${new Date(1_000_000).toISOString()}`,
      });
      expect(origin.requests).toHaveLength(0);
    });

    it('says who took over and until when, when another uploader took over first', async () => {
      origin.files.set(PACKAGE, syntheticRpmFor(PACKAGE));
      s3Mock
        .on(PutObjectCommand, { Key: `claims/${PACKAGE}` })
        .rejects(s3Error('PreconditionFailed', 412))
        .on(GetObjectCommand, { Key: `claims/${PACKAGE}` })
        .resolves({ Body: claimBody('dead-request', 999_999), ETag: '"stale-etag"' });

      expect(await cacheFromOrigin(PACKAGE, { ...deps(), claim })).toEqual({
        outcome: 'claimed-elsewhere',
        reason: `held by another uploader taking over until ${new Date(1_060_000).toISOString()}`,
      });
    });

    it('tries again when the claim is released between its write and its read, eight times at most', async () => {
      origin.files.set(PACKAGE, syntheticRpmFor(PACKAGE));
      s3Mock
        .on(PutObjectCommand, { Key: `claims/${PACKAGE}` })
        .rejects(s3Error('PreconditionFailed', 412))
        .on(GetObjectCommand, { Key: `claims/${PACKAGE}` })
        .rejects(s3Error('NoSuchKey', 404));

      await expect(cacheFromOrigin(PACKAGE, { ...deps(), claim })).rejects.toThrow('kept changing: 8 attempts');
      const claimWrites = s3Mock
        .commandCalls(PutObjectCommand)
        .filter((call) => call.args[0].input.Key === `claims/${PACKAGE}`);
      expect(claimWrites).toHaveLength(8);
      expect(origin.requests).toHaveLength(0);
    });

    it('claims on the second attempt when the first holder released in between', async () => {
      origin.files.set(PACKAGE, syntheticRpmFor(PACKAGE));
      s3Mock
        .on(PutObjectCommand, { Key: `claims/${PACKAGE}` })
        .rejectsOnce(s3Error('PreconditionFailed', 412))
        .resolves({})
        .on(GetObjectCommand, { Key: `claims/${PACKAGE}` })
        .rejects(s3Error('NoSuchKey', 404));

      expect((await cacheFromOrigin(PACKAGE, { ...deps(), claim })).outcome).toBe('stored');
    });

    it.each([
      ['the claim write', PutObjectCommand],
      ['the claim read', GetObjectCommand],
    ])('throws an S3 failure of %s, for a retry', async (_name, command) => {
      origin.files.set(PACKAGE, syntheticRpmFor(PACKAGE));
      s3Mock.on(PutObjectCommand, { Key: `claims/${PACKAGE}` }).rejects(s3Error('PreconditionFailed', 412));
      s3Mock.on(command, { Key: `claims/${PACKAGE}` }).rejects(s3Error('InternalError', 500));

      await expect(cacheFromOrigin(PACKAGE, { ...deps(), claim })).rejects.toThrow('InternalError');
      expect(origin.requests).toHaveLength(0);
    });

    it('releases the claim when the download fails, so a retry can claim it', async () => {
      origin.behaviours.set(PACKAGE, { kind: 'status', status: 503 });

      await expect(cacheFromOrigin(PACKAGE, { ...deps(), claim })).rejects.toThrow(OriginUnavailableError);
      expect(s3Mock.commandCalls(DeleteObjectCommand)).toHaveLength(1);
    });
  });
});
