/**
 * s3rver, the S3-compatible server behind the local stack's embedded store
 * (and the plain store some tests and the benchmark start on their own).
 */
import crypto from 'node:crypto';
import { mkdir } from 'node:fs/promises';

/** The credentials s3rver accepts. Copy before use: the SDK marks the object it is given. */
export const S3RVER_CREDENTIALS = Object.freeze({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });

let desTokensReplaced = false;

/**
 * s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3
 * (Node 17 and later) refuses without its legacy provider: every listing
 * that is truncated (more keys than `MaxKeys`) fails with InternalError. Its
 * tokens only round-trip through s3rver itself, so in a process that runs it,
 * DES is replaced by AES-128-CTR with the 8-byte key and IV doubled: the
 * token keeps its form (the IV, then ciphertext as long as the text).
 */
const replaceDesTokens = (): void => {
  if (desTokensReplaced) return;
  desTokensReplaced = true;
  const { createCipheriv, createDecipheriv } = crypto;
  const doubled = (value: crypto.BinaryLike | null): Buffer => {
    const bytes = Buffer.from(value as Buffer);
    return Buffer.concat([bytes, bytes]);
  };
  Reflect.set(crypto, 'createCipheriv', (algorithm: string, key: Buffer, iv: Buffer | null) =>
    algorithm === 'des' ? createCipheriv('aes-128-ctr', doubled(key), doubled(iv)) : createCipheriv(algorithm, key, iv),
  );
  Reflect.set(crypto, 'createDecipheriv', (algorithm: string, key: Buffer, iv: Buffer | null) =>
    algorithm === 'des'
      ? createDecipheriv('aes-128-ctr', doubled(key), doubled(iv))
      : createDecipheriv(algorithm, key, iv),
  );
};

/** s3rver on 127.0.0.1 (a free port) holding `bucket`, its data in `directory`; no conditional writes. */
export const startS3rver = async (directory: string, bucket: string) => {
  replaceDesTokens();
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
