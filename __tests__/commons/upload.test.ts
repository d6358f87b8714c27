import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { parseCacheConfig } from '../../src/commons/config.js';
import { cacheFromOrigin, IncompleteDownloadError, OriginUnavailableError } from '../../src/commons/upload.js';
import { notFound, s3Error } from '../helpers/aws.js';
import { OriginServer, refusedBaseUrl } from '../helpers/origin-server.js';

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

  /** Nothing was committed: no object written, no multipart upload completed. */
  const expectNothingCommitted = () => {
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(s3Mock.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  };

  beforeEach(async () => {
    s3Mock.reset();
    s3Mock.on(HeadObjectCommand).rejects(notFound());
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
    // Prepare
    const rpm = randomBytes(64 * 1024);
    origin.files.set(PACKAGE, rpm);

    // Act
    const result = await cacheFromOrigin(PACKAGE, deps());

    // Assess
    expect(result).toEqual({ outcome: 'stored', originStatus: 200, bytes: rpm.length });
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
    const rpm = randomBytes(12 * MiB + 123);
    origin.files.set(PACKAGE, rpm);

    const result = await cacheFromOrigin(PACKAGE, deps());

    expect(result).toEqual({ outcome: 'stored', originStatus: 200, bytes: rpm.length });
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
    origin.files.set(PACKAGE, randomBytes(100_000));
    origin.behaviours.set(PACKAGE, { kind: 'truncate', bytes: 40_000 });

    await expect(cacheFromOrigin(PACKAGE, deps())).rejects.toThrow(IncompleteDownloadError);
    expectNothingCommitted();
  });

  it('aborts the multipart upload when the connection drops after some parts', async () => {
    origin.files.set(PACKAGE, randomBytes(16 * MiB));
    origin.behaviours.set(PACKAGE, { kind: 'truncate', bytes: 11 * MiB });

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
    origin.files.set(PACKAGE, randomBytes(7 * MiB));
    origin.behaviours.set(PACKAGE, { kind: 'stall-body', bytes: 6 * MiB });

    await expect(cacheFromOrigin(PACKAGE, deps())).rejects.toThrow('origin sent nothing for 300 ms');
    expect(s3Mock.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    expectNothingCommitted();
  });

  it('aborts the multipart upload when S3 fails a part, and throws the S3 error', async () => {
    origin.files.set(PACKAGE, randomBytes(11 * MiB));
    s3Mock.on(UploadPartCommand).rejects(s3Error('InternalError', 500));

    await expect(cacheFromOrigin(PACKAGE, deps())).rejects.toThrow('InternalError');
    expect(s3Mock.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    expectNothingCommitted();
  });

  it.each([
    ['412 PreconditionFailed', 412],
    ['409 ConditionalRequestConflict', 409],
  ])('treats %s on commit as another uploader having won', async (_name, status) => {
    origin.files.set(PACKAGE, randomBytes(1000));
    s3Mock
      .on(PutObjectCommand)
      .rejects(s3Error(status === 412 ? 'PreconditionFailed' : 'ConditionalRequestConflict', status));

    expect(await cacheFromOrigin(PACKAGE, deps())).toEqual({ outcome: 'lost-race', originStatus: 200, bytes: 1000 });
  });

  it('aborts the multipart upload when the commit loses the race', async () => {
    origin.files.set(PACKAGE, randomBytes(11 * MiB));
    s3Mock.on(CompleteMultipartUploadCommand).rejects(s3Error('PreconditionFailed', 412));

    expect((await cacheFromOrigin(PACKAGE, deps())).outcome).toBe('lost-race');
    expect(s3Mock.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
  });
});
