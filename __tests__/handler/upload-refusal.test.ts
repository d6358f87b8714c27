/**
 * A refused origin copy (commons/upload-refusal.ts): while the origin serves
 * the copy the uploader refused, the handler does not invoke the uploader
 * again and says why; a changed copy, an ended record, or a record it
 * cannot read, and it triggers as before.
 */
import { createHash } from 'node:crypto';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { parseHandlerConfig } from '../../src/commons/config.js';
import { recordKey } from '../../src/commons/paths.js';
import {
  parseRefusalRecord,
  type RefusalRecord,
  refusalAnswers,
  refusalRecordKey,
  sameOriginCopy,
} from '../../src/commons/upload-refusal.js';
import { decideRedirect } from '../../src/handler/redirect.js';
import { redirectResponse } from '../../src/handler/responses.js';
import { notFound, objectBody, s3Error } from '../helpers/aws.js';
import { OriginServer } from '../helpers/origin-server.js';
import { refusalOf } from '../helpers/refusal-record.js';

const PACKAGE = 'pub/fedora/linux/updates/44/Everything/x86_64/Packages/b/broken-1.0-1.fc44.x86_64.rpm';
const SERVED = Buffer.from('<html>mirror maintenance</html>');

const record = (overrides: Partial<RefusalRecord> = {}): RefusalRecord => refusalOf(SERVED, overrides);

const body = (text: string) => ({ Body: objectBody(text) });

describe('decideRedirect with a refused origin copy', () => {
  const s3Mock = mockClient(S3Client);
  const lambdaMock = mockClient(LambdaClient);
  const s3 = new S3Client({});
  const lambda = new LambdaClient({});
  let origin: OriginServer;

  const deps = () => ({
    config: parseHandlerConfig({
      S3_BUCKET_NAME: 'rpm-cache-bucket',
      UPLOADER_LAMBDA_ARN: 'rpm-cache-uploader',
      ORIGIN_HOST: origin.baseUrl,
      ORIGIN_HEAD_TIMEOUT: '0.5',
    }),
    s3,
    lambda,
  });

  const withRecord = (text: string) =>
    s3Mock.on(GetObjectCommand, { Key: refusalRecordKey(PACKAGE) }).callsFake(() => body(text));

  beforeEach(async () => {
    s3Mock.reset();
    lambdaMock.reset();
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 202 });
    s3Mock.on(HeadObjectCommand).rejects(notFound());
    s3Mock.on(GetObjectCommand).rejects(notFound());
    origin = await OriginServer.start();
    origin.files.set(PACKAGE, SERVED);
  });

  afterEach(async () => {
    await origin.close();
  });

  it('does not invoke the uploader while the origin serves the refused copy, and says why', async () => {
    const refused = record();
    withRecord(JSON.stringify(refused));

    const decision = await decideRedirect(PACKAGE, deps());

    expect(decision).toMatchObject({
      outcome: 'miss',
      location: expect.stringContaining(origin.baseUrl),
      originStatus: 200,
      uploadTriggered: false,
      uploadRefused: `refused at ${refused.at}, tried again after ${refused.until} or once the origin's copy changes: not an RPM: no lead magic`,
    });
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
    expect(s3Mock.commandCalls(GetObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'rpm-cache-bucket',
      Key: `refusals/${PACKAGE}.json`,
    });
  });

  it('triggers the upload again once the origin serves another copy', async () => {
    withRecord(JSON.stringify(record({ validators: { etag: '"0123456789abcdef"', contentLength: SERVED.length } })));

    const decision = await decideRedirect(PACKAGE, deps());

    expect(decision).toMatchObject({ outcome: 'miss', uploadTriggered: true });
    expect(decision.uploadRefused).toBeUndefined();
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(1);
  });

  it('triggers the upload again once the record has ended', async () => {
    withRecord(JSON.stringify(record({ until: new Date(Date.now() - 1000).toISOString() })));

    expect(await decideRedirect(PACKAGE, deps())).toMatchObject({ uploadTriggered: true });
  });

  it.each([
    ['unreadable JSON', () => withRecord('{"outcome":')],
    ['a record of another kind', () => withRecord(JSON.stringify({ ...record(), outcome: 'failed' }))],
    ['S3 failing', () => s3Mock.on(GetObjectCommand).rejects(s3Error('InternalError', 500))],
    ['S3 denying', () => s3Mock.on(GetObjectCommand).rejects(s3Error('AccessDenied', 403))],
  ])('triggers as without records when the record is %s: the cache stays out of the way', async (_name, arrange) => {
    arrange();

    expect(await decideRedirect(PACKAGE, deps())).toMatchObject({ outcome: 'miss', uploadTriggered: true });
  });

  it('never reads a record for a file the cache holds (no cost to a stored answer)', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: SERVED.length });

    expect(await decideRedirect(PACKAGE, deps())).toMatchObject({ outcome: 'stored' });
    expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(0);
  });

  it('answers from the stored copy as before when the origin lost the file, whatever the record says', async () => {
    withRecord(JSON.stringify(record()));
    origin.files.delete(PACKAGE);

    const decision = await decideRedirect(PACKAGE, deps());

    expect(decision).toMatchObject({ outcome: 'miss', originStatus: 404, uploadTriggered: false });
    expect(decision.uploadRefused).toBeUndefined();
  });
});

describe('the answer to a refused copy', () => {
  it('says X-Cache-Upload: refused, with the reason on one printable line', () => {
    const { headers } = redirectResponse('https://origin.example/x.rpm', 'miss', 200, {
      uploadRefused: 'refused at 2026-12-04T10:00:00.000Z: size 12 \u2260 header\nsays 40',
    });

    expect(headers).toMatchObject({
      'X-Cache': 'miss',
      'X-Cache-Upload': 'refused',
      'X-Cache-Upload-Reason': 'refused at 2026-12-04T10:00:00.000Z: size 12 ? header?says 40',
    });
  });

  it('has no X-Cache-Upload otherwise', () => {
    expect(redirectResponse('https://origin.example/x.rpm', 'miss', 200).headers).not.toHaveProperty('X-Cache-Upload');
  });
});

describe('sameOriginCopy', () => {
  const validators = fc.record(
    {
      etag: fc.constantFrom('"a"', 'W/"a"', '"b"'),
      lastModified: fc.constantFrom('Mon, 01 Dec 2026 00:00:00 GMT', 'Tue, 02 Dec 2026 00:00:00 GMT'),
      contentLength: fc.integer({ min: 0, max: 3 }),
    },
    { requiredKeys: [] },
  );

  it('holds for any answer and itself', () => {
    fc.assert(fc.property(validators, (answer) => sameOriginCopy(answer, answer)));
  });

  it('is symmetric', () => {
    fc.assert(fc.property(validators, validators, (a, b) => sameOriginCopy(a, b) === sameOriginCopy(b, a)));
  });

  it('goes by the ETag when both have one (a weak one too), else Last-Modified and length, else length', () => {
    expect(sameOriginCopy({ etag: '"a"', contentLength: 1 }, { etag: 'W/"a"', contentLength: 2 })).toBe(true);
    expect(sameOriginCopy({ etag: '"a"' }, { etag: '"b"' })).toBe(false);
    const monday = 'Mon, 01 Dec 2026 00:00:00 GMT';
    expect(
      sameOriginCopy(
        { etag: '"a"', lastModified: monday, contentLength: 5 },
        { lastModified: monday, contentLength: 5 },
      ),
    ).toBe(true);
    expect(sameOriginCopy({ lastModified: monday, contentLength: 5 }, { lastModified: monday, contentLength: 6 })).toBe(
      false,
    );
    expect(sameOriginCopy({ lastModified: monday }, { contentLength: 5 })).toBe(false);
    expect(sameOriginCopy({ contentLength: 5 }, { contentLength: 6 })).toBe(false);
    // Nothing tells them apart: the same copy until the record ends.
    expect(sameOriginCopy({}, {})).toBe(true);
  });
});

describe('refusal records', () => {
  it('answer only before their end', () => {
    const now = Date.now();
    const answered = record();
    expect(refusalAnswers(answered, answered.validators, now)).toBe(true);
    expect(refusalAnswers(answered, answered.validators, Date.parse(answered.until))).toBe(false);
    expect(refusalAnswers(undefined, answered.validators, now)).toBe(false);
  });

  it('are refused when any field is not what the uploader writes', () => {
    const good = record();
    expect(parseRefusalRecord(JSON.stringify(good))).toEqual(good);
    for (const bad of [
      { ...good, at: 'yesterday' },
      { ...good, until: 7 },
      { ...good, reason: undefined },
      { ...good, validators: 'etag' },
      { ...good, validators: { contentLength: '31' } },
      [good],
    ]) {
      expect(parseRefusalRecord(JSON.stringify(bad))).toBeUndefined();
    }
  });

  it('of a path too long for refusals/<path>.json are kept under refusals/long/<sha256>.json', () => {
    const long = `pub/${'d/'.repeat(505)}x.rpm`;
    expect(refusalRecordKey(long)).toBe(
      `refusals/long/${createHash('sha256').update(long, 'utf8').digest('hex')}.json`,
    );
    expect(refusalRecordKey(PACKAGE)).toBe(recordKey('refusals', PACKAGE));
    expect(refusalRecordKey(PACKAGE)).toBe(`refusals/${PACKAGE}.json`);
  });
});
