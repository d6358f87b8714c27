import { LambdaClient } from '@aws-sdk/client-lambda';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { s3Error } from './helpers/aws.js';
import { httpApiEvent } from './helpers/events.js';
import { lambdaContext } from './helpers/lambda-context.js';
import { loadHandler } from './helpers/lambdas.js';
import { captureLogs } from './helpers/logs.js';
import { OriginServer } from './helpers/origin-server.js';
import { SentryServer } from './helpers/sentry-server.js';

describe('secrets stay out of logs (handler with Sentry enabled, DEBUG logging)', () => {
  const s3Mock = mockClient(S3Client);
  mockClient(LambdaClient);
  let origin: OriginServer;
  let sentry: SentryServer;
  let handler: typeof import('../src/handler/handler.js')['handler'];
  let logs: ReturnType<typeof captureLogs>;

  beforeAll(async () => {
    origin = await OriginServer.start();
    sentry = await SentryServer.start();
    logs = captureLogs();
    handler = await loadHandler({
      S3_BUCKET_NAME: 'rpm-cache-bucket',
      UPLOADER_LAMBDA_ARN: 'rpm-cache-uploader',
      ORIGIN_HOST: origin.baseUrl,
      SENTRY_DSN: sentry.dsn,
      CKI_DEPLOYMENT_ENVIRONMENT: 'production',
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
      // As in Lambda: temporary credentials, whose token ends up in presigned URLs.
      AWS_SESSION_TOKEN: 'session-token-that-must-never-be-logged',
    });
  });

  afterAll(async () => {
    logs.restore();
    delete process.env.SENTRY_DSN;
    delete process.env.AWS_SESSION_TOKEN;
    await origin.close();
    await sentry.close();
  });

  it('reports an error the fallback turned into a 302, and logs neither DSN nor AWS secrets', async () => {
    s3Mock.on(HeadObjectCommand).rejects(s3Error('AccessDenied', 403));

    const response = (await handler(httpApiEvent('pub/a.rpm'), lambdaContext())) as APIGatewayProxyStructuredResultV2;

    expect(response.statusCode).toBe(302);
    expect(response.headers?.['X-Cache']).toBe('fallback');
    expect(sentry.envelopes).toHaveLength(1);
    expect(sentry.envelopes[0]).toContain('AccessDenied');
    expect(sentry.envelopes[0]).toContain('"environment":"production"');
    const logged = logs.text();
    expect(logged).toContain('"outcome":"fallback"');
    expect(logged).not.toContain('0123456789abcdef0123456789abcdef');
    expect(logged).not.toContain(String(process.env.AWS_SECRET_ACCESS_KEY));
  });

  it('never logs the presigned URL credentials of a hit', async () => {
    s3Mock.on(HeadObjectCommand).resolves({});
    logs.clear();

    const response = (await handler(
      httpApiEvent('pub/dropped.rpm'),
      lambdaContext(),
    )) as APIGatewayProxyStructuredResultV2;

    expect(response.headers?.['X-Cache']).toBe('hit');
    const location = new URL(String(response.headers?.Location));
    const secrets = [
      location.searchParams.get('X-Amz-Signature'),
      location.searchParams.get('X-Amz-Credential'),
      location.searchParams.get('X-Amz-Security-Token'),
    ];
    expect(secrets.every((value) => value !== null && value.length > 10)).toBe(true);
    const logged = logs.text();
    expect(logged).toContain('"outcome":"hit"');
    expect(logged).toContain('input-output');
    for (const secret of [
      ...secrets,
      'AKIATESTTESTTESTTEST',
      process.env.AWS_SECRET_ACCESS_KEY,
      'session-token-that-must-never-be-logged',
    ]) {
      expect(logged).not.toContain(String(secret));
      expect(logged).not.toContain(encodeURIComponent(String(secret)));
    }
    expect(logged).not.toContain('0123456789abcdef0123456789abcdef');
  });
});
