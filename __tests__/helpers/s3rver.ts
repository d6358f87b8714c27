import S3rver from '@20minutes/s3rver';

/** What s3rver accepts (its default account). */
export const S3RVER_CREDENTIALS = Object.freeze({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });

/** A plain s3rver on 127.0.0.1 holding `bucket` in `directory` (no conditional-write proxy). */
export const startS3rver = async (directory: string, bucket: string) => {
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
