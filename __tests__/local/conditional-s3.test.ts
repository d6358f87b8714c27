/**
 * The local stack's S3 honours conditional writes as S3 does, so download
 * claims and first-commit-wins are proven where they run, not only with mocks.
 */
import { request as httpRequest } from 'node:http';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { lambdaContext } from '../../src/local/lambda-service.js';
import { syntheticRpmFor } from '../helpers/synthetic-rpm.js';
import { stackS3Client, startTestStack, type TestStack } from '../helpers/test-stack.js';

const BUCKET = 'rpm-cache';

describe('local S3 conditional writes', () => {
  let test: TestStack;
  let s3: S3Client;
  let count = 0;
  const freshKey = () => {
    count += 1;
    return `cache/conditional/key-${count}.rpm`;
  };
  const put = (Key: string, conditions: { IfNoneMatch?: string; IfMatch?: string }, Body: Buffer = Buffer.from('x')) =>
    s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body, ...conditions }));
  const failure = async (work: Promise<unknown>) => {
    try {
      await work;
    } catch (error) {
      if (error instanceof S3ServiceException) return { status: error.$metadata.httpStatusCode, name: error.name };
      throw error;
    }
    return { status: 200 };
  };

  beforeAll(async () => {
    test = await startTestStack();
    s3 = stackS3Client(test.stack);
  });

  afterAll(async () => {
    s3.destroy();
    await test.close();
  });

  it('writes with If-None-Match: * once, then answers 412 PreconditionFailed', async () => {
    const key = freshKey();

    expect(await failure(put(key, { IfNoneMatch: '*' }))).toEqual({ status: 200 });
    expect(await failure(put(key, { IfNoneMatch: '*' }, Buffer.from('second')))).toEqual({
      status: 412,
      name: 'PreconditionFailed',
    });
    expect((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).ContentLength).toBe(1);
  });

  it('writes with If-Match only when the ETag is the current one, and answers 404 for a missing key', async () => {
    const key = freshKey();
    await put(key, {});
    const { ETag } = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));

    expect(await failure(put(key, { IfMatch: '"0123456789abcdef0123456789abcdef"' }))).toEqual({
      status: 412,
      name: 'PreconditionFailed',
    });
    expect(await failure(put(key, { IfMatch: ETag ?? '' }, Buffer.from('new')))).toEqual({ status: 200 });
    expect(await failure(put(freshKey(), { IfMatch: ETag ?? '' }))).toMatchObject({ status: 404 });
  });

  it('refuses CompleteMultipartUpload with If-None-Match: * on an existing key', async () => {
    const key = freshKey();
    await put(key, {});
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const part = await s3.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: Buffer.from('part') }),
    );

    const completed = s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId,
        IfNoneMatch: '*',
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag ?? '' }] },
      }),
    );

    expect(await failure(completed)).toEqual({ status: 412, name: 'PreconditionFailed' });
  });

  /** A conditional PUT whose body is still arriving (unsigned: it never reaches s3rver when refused). */
  const slowPut = (key: string, headers: Record<string, string>) => {
    const endpoint = new URL(test.stack.s3Endpoint);
    const request = httpRequest({
      host: endpoint.hostname,
      port: endpoint.port,
      method: 'PUT',
      path: `/${BUCKET}/${key}`,
      headers: { ...headers, 'content-length': '4' },
    });
    const answered = new Promise<number | undefined>((resolve) =>
      request.on('response', (response) => {
        response.resume();
        resolve(response.statusCode);
      }),
    );
    request.write('sl');
    return { finish: () => request.end('ow'), answered };
  };
  const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

  it('lets the first conditional write to complete win and answers 412 to the one still arriving, as S3 does', async () => {
    const key = freshKey();
    const slow = slowPut(key, { 'if-none-match': '*' });
    await settle();

    const fast = await failure(put(key, { IfNoneMatch: '*' }, Buffer.from('fast')));
    slow.finish();

    expect(fast).toEqual({ status: 200 });
    expect(await slow.answered).toBe(412);
    expect((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).ContentLength).toBe(4);
  });

  it('answers 409 ConditionalRequestConflict to a conditional write a DELETE of its key overtook', async () => {
    const key = freshKey();
    await put(key, {});
    const { ETag } = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    const slow = slowPut(key, { 'if-match': ETag ?? '' });
    await settle();

    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    slow.finish();

    expect(await slow.answered).toBe(409);
    // A write that starts after the delete is judged on the key as it is: no object.
    expect((await failure(put(key, { IfNoneMatch: '*' }))).status).toBe(200);
  });

  it('two uploaders started together for one key: one origin GET, one object, the other stands aside', async () => {
    const path = 'pub/Packages/r/race-1.0-1.noarch.rpm';
    const rpm = syntheticRpmFor(path, { payloadBytes: 200_000 });
    test.origin.files.set(path, rpm);
    test.origin.behaviours.set(path, { kind: 'slow', chunks: 5, delayMs: 100 });
    const { handler: uploader } = await import('../../src/uploader/uploader.js');

    const results = await Promise.all(
      ['uploader-a', 'uploader-b'].map(
        (requestId) =>
          uploader({ path }, lambdaContext('rpm-cache-uploader', requestId, 60_000)) as Promise<{ outcome: string }>,
      ),
    );

    expect(results.map((result) => result.outcome).sort()).toEqual(expect.arrayContaining(['stored']));
    expect(results.filter((result) => result.outcome === 'stored')).toHaveLength(1);
    // Under load the second may start only after the first committed: already-cached is standing aside too.
    expect(['claimed-elsewhere', 'lost-race', 'already-cached']).toContain(
      results.find((result) => result.outcome !== 'stored')?.outcome,
    );
    expect(test.origin.requestsFor('GET')).toHaveLength(1);
    const object = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `cache/${path}` }));
    expect(object.ContentLength).toBe(rpm.length);
  });
  it('a crowd claiming one download, each winner releasing at once: every claimant gets an answer, none gives up', async () => {
    const path = 'pub/Packages/c/churn-1.0-1.noarch.rpm';
    const { claimDownload } = await import('../../src/uploader/upload-claim.js');
    let claims = 0;

    // The burst's pattern: the claim's holder finds the file stored and releases it at once, so
    // the others' writes keep meeting a key that appears and disappears (412, then free; 409).
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, async (_, index) => {
        const result = await claimDownload(s3, BUCKET, path, { owner: `claimant-${index}`, ttlMs: 60_000 });
        if (!result.claimed) return 'held';
        claims += 1;
        await result.release();
        return 'claimed';
      }).map((outcome) => outcome.catch((error: unknown) => `threw: ${String(error)}`)),
    );

    expect(outcomes.filter((outcome) => outcome.startsWith('threw'))).toEqual([]);
    expect(claims).toBeGreaterThanOrEqual(1);
  });
});
