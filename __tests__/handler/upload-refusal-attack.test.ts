/**
 * A refused origin copy under attack: mirrors serving the refused copy, an S3
 * that is slow to give the record, an origin whose ETag changes with every
 * answer, a record that outlives the configured end, refusals turned off.
 * Each case is what the handler must still get right about the refusal
 * (commons/upload-refusal.ts) without the cache getting in the way.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { type Environment, parseHandlerConfig } from '../../src/commons/config.js';
import { type RefusalRecord, refusalRecordKey } from '../../src/commons/upload-refusal.js';
import { createRedirectMemo } from '../../src/handler/recent-keys.js';
import { decideRedirect } from '../../src/handler/redirect.js';
import { notFound, objectBody } from '../helpers/aws.js';
import { OriginServer } from '../helpers/origin-server.js';
import { refusalOf } from '../helpers/refusal-record.js';

const REST = 'updates/44/Everything/x86_64/Packages/b/broken-1.0-1.fc44.x86_64.rpm';
const PATH = `fedora/${REST}`;
const SERVED = Buffer.from('<html>mirror maintenance</html>');
const HOUR = 3_600_000;
const HEAD_TIMEOUT_MS = 500;

const record = (overrides: Partial<RefusalRecord> = {}): RefusalRecord => refusalOf(SERVED, overrides);

const body = (text: string) => ({ Body: objectBody(text) });

describe('decideRedirect with a refused origin copy, attacked', () => {
  const s3Mock = mockClient(S3Client);
  const lambdaMock = mockClient(LambdaClient);
  const s3 = new S3Client({});
  const lambda = new LambdaClient({});
  let first: OriginServer;
  let mirror: OriginServer;

  const deps = (env: Environment = {}) => ({
    config: parseHandlerConfig({
      S3_BUCKET_NAME: 'rpm-cache-bucket',
      UPLOADER_LAMBDA_ARN: 'rpm-cache-uploader',
      ORIGIN_HOST: first.baseUrl,
      ORIGINS: `fedora=${first.baseUrl}/pub/fedora/linux,${mirror.baseUrl}/fedora`,
      ORIGIN_HEAD_TIMEOUT: String(HEAD_TIMEOUT_MS / 1000),
      ...env,
    }),
    s3,
    lambda,
  });
  const withRecord = (text: string) =>
    s3Mock.on(GetObjectCommand, { Key: refusalRecordKey(PATH) }).callsFake(() => body(text));
  const invokes = () => lambdaMock.commandCalls(InvokeCommand).length;

  beforeEach(async () => {
    s3Mock.reset();
    lambdaMock.reset();
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 202 });
    s3Mock.on(HeadObjectCommand).rejects(notFound());
    s3Mock.on(GetObjectCommand).rejects(notFound());
    first = await OriginServer.start();
    mirror = await OriginServer.start();
    first.files.set(`pub/fedora/linux/${REST}`, SERVED);
  });

  afterEach(async () => {
    await first.close();
    await mirror.close();
  });

  it("does not invoke the uploader for a mirror's copy it refused when the first URL lost the file, and says why", async () => {
    // Prepare: the uploader skipped the first URL's 404 and refused the mirror's copy.
    first.files.clear();
    mirror.files.set(`fedora/${REST}`, SERVED);
    withRecord(JSON.stringify(record()));

    // Act
    const decision = await decideRedirect(PATH, deps());

    // Assess
    expect(decision).toMatchObject({
      outcome: 'miss',
      mirror: 1,
      location: `${mirror.baseUrl}/fedora/${REST}`,
      uploadTriggered: false,
      uploadRefused: expect.stringContaining('not an RPM: no lead magic'),
    });
    expect(invokes()).toBe(0);
  });

  it('triggers the upload when a mirror serves another copy than the one refused', async () => {
    first.files.clear();
    mirror.files.set(`fedora/${REST}`, Buffer.from('a fixed copy'));
    withRecord(JSON.stringify(record()));

    const decision = await decideRedirect(PATH, deps());

    expect(decision).toMatchObject({ outcome: 'miss', mirror: 1, uploadTriggered: true });
    expect(decision.uploadRefused).toBeUndefined();
  });

  it('answers and triggers with the HEAD, not at the deadline, when S3 is slow to give the record', async () => {
    // Prepare: the record's GET never answers (nor heeds its abort signal).
    s3Mock.on(GetObjectCommand, { Key: refusalRecordKey(PATH) }).callsFake(() => new Promise(() => undefined));
    const started = performance.now();

    // Act
    const decision = await decideRedirect(PATH, deps());

    // Assess: within the HEAD's own timeout and a little, as a miss answered before records existed.
    expect(decision).toMatchObject({ outcome: 'miss', originStatus: 200, uploadTriggered: true });
    expect(performance.now() - started).toBeLessThan(HEAD_TIMEOUT_MS + 300);
  }, 5_000);

  it('triggers once per refusal, not once per ETag, when the origin gives every answer another ETag', async () => {
    // Prepare: the record names a copy the origin no longer serves; each HEAD says another ETag.
    withRecord(JSON.stringify(record({ validators: { etag: '"refused"' } })));
    const memo = createRedirectMemo();
    const answers = ['"a"', '"b"', '"c"', '"d"'];

    // Act
    for (const etag of answers) {
      first.defaultBehaviour = { kind: 'status', status: 200, headers: { etag, 'content-length': '31' } };
      await decideRedirect(PATH, { ...deps(), memo });
    }

    // Assess: one download of the changed copy, not one per request.
    expect(invokes()).toBe(1);
  });

  it('does not trigger again for each newer refusal when its HEAD and GET never agree on the copy', async () => {
    // Prepare: the origin's HEAD says one ETag, its GET (what the uploader records) another, for the same bytes.
    const memo = createRedirectMemo();
    first.defaultBehaviour = { kind: 'status', status: 200, headers: { etag: '"head"', 'content-length': '31' } };
    withRecord(JSON.stringify(record({ validators: { etag: '"get"' } })));
    await decideRedirect(PATH, { ...deps(), memo });
    // The uploader downloaded it and refused it again.
    withRecord(JSON.stringify(record({ at: new Date().toISOString(), validators: { etag: '"get"' } })));

    // Act
    const decision = await decideRedirect(PATH, { ...deps(), memo });

    // Assess: remembered as any trigger is, not downloaded once per refusal.
    expect(decision).toMatchObject({ uploadTriggered: false, uploadAlreadyTriggered: true });
    expect(invokes()).toBe(1);
  });

  it('reads no record and triggers when refusals are off (UPLOAD_REFUSAL_TTL=0)', async () => {
    withRecord(JSON.stringify(record()));

    const decision = await decideRedirect(PATH, deps({ UPLOAD_REFUSAL_TTL: '0' }));

    expect(decision).toMatchObject({ outcome: 'miss', uploadTriggered: true });
    expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(0);
  });

  it('ends a record at UPLOAD_REFUSAL_TTL after its refusal, whatever end it names', async () => {
    // Prepare: refused two hours ago, with an end a month away (an older, longer setting, or a hostile record).
    withRecord(
      JSON.stringify(
        record({
          at: new Date(Date.now() - 2 * HOUR).toISOString(),
          until: new Date(Date.now() + 30 * 24 * HOUR).toISOString(),
        }),
      ),
    );

    const decision = await decideRedirect(PATH, deps({ UPLOAD_REFUSAL_TTL: '3600' }));

    expect(decision).toMatchObject({ outcome: 'miss', uploadTriggered: true });
  });
});
