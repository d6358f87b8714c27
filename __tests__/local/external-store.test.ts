import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalStack } from '../../src/local/stack.js';
import { captureLogs } from '../helpers/logs.js';
import { OriginServer } from '../helpers/origin-server.js';
import { S3RVER_CREDENTIALS, startS3rver } from '../helpers/s3rver.js';
import { syntheticRpmFor } from '../helpers/synthetic-rpm.js';

const PACKAGE = 'pub/Packages/e/external-1.0-1.noarch.rpm';

describe('local stack with AWS_ENDPOINT_URL_S3 set', () => {
  let work: string;
  let store: Awaited<ReturnType<typeof startS3rver>>;
  let storeEndpoint: string;
  let origin: OriginServer;
  let stack: LocalStack;
  let logs: ReturnType<typeof captureLogs>;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'rpm-cache-external-'));
    // Another S3-compatible store the stack does not start, as MinIO or Ceph would be.
    store = await startS3rver(join(work, 'store'), 'team-cache');
    storeEndpoint = store.endpoint;
    origin = await OriginServer.start();
    logs = captureLogs();
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    });
    const { startLocalStack } = await import('../../src/local/stack.js');
    stack = await startLocalStack({
      env: {
        PORT: '0',
        ORIGIN_HOST: origin.baseUrl,
        AWS_ENDPOINT_URL_S3: storeEndpoint,
        S3_BUCKET_NAME: 'team-cache',
        RPM_CACHE_DATA_DIR: join(work, 'unused'),
      },
    });
  });

  afterAll(async () => {
    await stack.close();
    await store.close();
    await origin.close();
    logs.restore();
    await rm(work, { recursive: true, force: true });
  });

  it('uses that store as is and starts no embedded one', () => {
    expect(stack.s3Endpoint).toBe(storeEndpoint);
    expect(stack.storeDescription).toBe(storeEndpoint);
  });

  it('caches into it and redirects hits to it', async () => {
    const rpm = syntheticRpmFor(PACKAGE, { payloadBytes: 10_000 });
    origin.files.set(PACKAGE, rpm);

    await fetch(`${stack.url}/${PACKAGE}`, { redirect: 'manual' });
    await stack.drain();
    origin.files.delete(PACKAGE);
    const hit = await fetch(`${stack.url}/${PACKAGE}`, { redirect: 'manual' });

    expect(hit.headers.get('x-cache')).toBe('hit');
    const location = String(hit.headers.get('location'));
    expect(location.startsWith(`${storeEndpoint}/team-cache/cache/`)).toBe(true);
    expect(Buffer.from(await (await fetch(location)).arrayBuffer())).toEqual(rpm);
  });
});
