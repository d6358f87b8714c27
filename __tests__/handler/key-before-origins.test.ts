/**
 * A file cached before ORIGINS named its origin (under its path below
 * ORIGIN_HOST) is still found when asked for through the named origin.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { parseHandlerConfig } from '../../src/commons/config.js';
import { createRedirectMemo } from '../../src/handler/recent-keys.js';
import { decideRedirect } from '../../src/handler/redirect.js';
import { notFound, s3Error } from '../helpers/aws.js';
import { OriginServer } from '../helpers/origin-server.js';

const REST = 'releases/44/Everything/x86_64/os/Packages/b/bash-5.3-1.fc44.x86_64.rpm';
const OLD_KEY = `cache/pub/fedora/linux/${REST}`;
const NEW_KEY = `cache/fedora/${REST}`;

describe('a file cached before ORIGINS named its origin', () => {
  const s3Mock = mockClient(S3Client);
  const lambdaMock = mockClient(LambdaClient);
  const s3 = new S3Client({
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' },
  });
  const lambda = new LambdaClient({});
  let origin: OriginServer;

  const deps = () => ({
    config: parseHandlerConfig({
      S3_BUCKET_NAME: 'rpm-cache-bucket',
      UPLOADER_LAMBDA_ARN: 'rpm-cache-uploader',
      ORIGIN_HOST: origin.baseUrl,
      ORIGINS: `fedora=${origin.baseUrl}/pub/fedora/linux`,
      ORIGIN_HEAD_TIMEOUT: '0.3',
    }),
    s3,
    lambda,
  });

  beforeEach(async () => {
    s3Mock.reset();
    lambdaMock.reset();
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 202 });
    s3Mock.on(HeadObjectCommand).rejects(notFound());
    s3Mock.on(HeadObjectCommand, { Key: OLD_KEY }).resolves({ ContentLength: 3 });
    origin = await OriginServer.start();
  });

  afterEach(async () => {
    await origin.close();
  });

  it('is served from its old key when the origin lost it, and remembered under that key', async () => {
    origin.defaultBehaviour = { kind: 'status', status: 404 };
    const memo = createRedirectMemo();

    const first = await decideRedirect(`fedora/${REST}`, { ...deps(), memo });
    const second = await decideRedirect(`fedora/${REST}`, { ...deps(), memo });

    for (const decision of [first, second]) {
      expect(decision).toMatchObject({ outcome: 'hit', origin: 'fedora' });
      expect(decodeURIComponent(new URL(decision.location ?? '').pathname)).toBe(`/rpm-cache-bucket/${OLD_KEY}`);
    }
    expect(
      s3Mock
        .commandCalls(HeadObjectCommand)
        .map((call) => call.args[0].input.Key)
        .sort(),
    ).toEqual([OLD_KEY, `cache/fedora/${REST}`].sort());
  });

  it('counts as stored while the origin has it: no upload under the new key', async () => {
    origin.files.set(`pub/fedora/linux/${REST}`, Buffer.from('rpm'));

    expect(await decideRedirect(`fedora/${REST}`, deps())).toMatchObject({ outcome: 'stored', uploadTriggered: false });
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it.each([
    ['the old key’s', NEW_KEY, OLD_KEY],
    ['the name’s', OLD_KEY, NEW_KEY],
  ])('is served from the key that holds it when %s lookup fails (throttled)', async (_which, held, failing) => {
    // Prepare
    origin.defaultBehaviour = { kind: 'status', status: 404 };
    s3Mock.on(HeadObjectCommand, { Key: held }).resolves({ ContentLength: 3 });
    s3Mock.on(HeadObjectCommand, { Key: failing }).rejects(s3Error('SlowDown', 503));

    // Act
    const decision = await decideRedirect(`fedora/${REST}`, deps());

    // Assess
    expect(decision).toMatchObject({ outcome: 'hit', origin: 'fedora' });
    expect(decodeURIComponent(new URL(decision.location ?? '').pathname)).toBe(`/rpm-cache-bucket/${held}`);
    expect(s3Mock.commandCalls(HeadObjectCommand)).toHaveLength(2);
  });

  it('still fails (the fallback goes to origin) when no key is found and a lookup failed', async () => {
    s3Mock.on(HeadObjectCommand, { Key: OLD_KEY }).rejects(s3Error('SlowDown', 503));

    await expect(decideRedirect(`fedora/${REST}`, deps())).rejects.toThrow('SlowDown');
  });

  it('is served by the stored copy itself (?rpm-cache=stored, what warm --verify downloads)', async () => {
    const decision = await decideRedirect(`fedora/${REST}`, deps(), { want: 'stored' });

    expect(decision).toMatchObject({ outcome: 'hit', originStatus: 'not-asked' });
    expect(decodeURIComponent(new URL(decision.location ?? '').pathname)).toBe(`/rpm-cache-bucket/${OLD_KEY}`);
  });
});
