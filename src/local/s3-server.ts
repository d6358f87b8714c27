/**
 * s3rver, the S3-compatible server behind the local stack's embedded store
 * (and the plain store some tests and the benchmark start on their own).
 */
import { mkdir } from 'node:fs/promises';

/** The credentials s3rver accepts. Copy before use: the SDK marks the object it is given. */
export const S3RVER_CREDENTIALS = Object.freeze({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });

/** s3rver on 127.0.0.1 (a free port) holding `bucket`, its data in `directory`; no conditional writes. */
export const startS3rver = async (directory: string, bucket: string) => {
  const { default: S3rver } = await import('@20minutes/s3rver');
  await mkdir(directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory,
    silent: true,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await server.run();
  return { port, endpoint: `http://127.0.0.1:${port}`, close: () => server.close() };
};
