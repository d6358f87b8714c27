/**
 * The embedded store sets the tags a write carries, as S3 does, so the
 * snapshot tags the lifecycle rule reads are proven locally, not assumed.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { startEmbeddedS3 } from '../../src/local/stack.js';
import { localStoreClient } from '../helpers/s3rver.js';

const BUCKET = 'rpm-cache-tags';

describe('object tags in the embedded store', () => {
  let work: string;
  let store: Awaited<ReturnType<typeof startEmbeddedS3>>;
  let s3: S3Client;
  const tagsOf = async (Key: string) =>
    (await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key }))).TagSet?.map(
      ({ Key: name, Value }) => `${name}=${Value}`,
    );

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'rpm-cache-tags-'));
    store = await startEmbeddedS3(join(work, 'data'), BUCKET);
    s3 = localStoreClient(store.endpoint);
  });

  afterAll(async () => {
    s3.destroy();
    await store.close();
    await rm(work, { recursive: true, force: true });
  });

  it('sets the tags of a PutObject', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'put', Body: 'x', Tagging: 'a=1&b=two' }));

    expect(await tagsOf('put')).toEqual(['a=1', 'b=two']);
  });

  it('sets the tags of a multipart upload once it completes', async () => {
    const upload = new Upload({
      client: s3,
      partSize: 5 * 1024 * 1024,
      params: {
        Bucket: BUCKET,
        Key: 'multipart',
        Body: Readable.from([Buffer.alloc(11 * 1024 * 1024)]),
        Tagging: 'kind=big',
      },
    });
    await upload.done();

    expect(await tagsOf('multipart')).toEqual(['kind=big']);
  });

  it('replaces the tags on a copy onto itself with TaggingDirective REPLACE, and keeps the bytes', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'copied', Body: 'bytes', Tagging: 'state=current' }));

    await s3.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: 'copied',
        CopySource: `${BUCKET}/copied`,
        MetadataDirective: 'REPLACE',
        Metadata: { 'retired-at': 'now' },
        TaggingDirective: 'REPLACE',
        Tagging: 'state=retired',
      }),
    );

    expect(await tagsOf('copied')).toEqual(['state=retired']);
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'copied' }));
    expect(await object.Body?.transformToString()).toBe('bytes');
    expect(object.Metadata).toEqual({ 'retired-at': 'now' });
  });

  it('leaves the tags alone on a copy that does not replace them', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'kept', Body: 'x', Tagging: 'state=current' }));

    await s3.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: 'kept',
        CopySource: `${BUCKET}/kept`,
        MetadataDirective: 'REPLACE',
        Metadata: { touched: 'yes' },
        Tagging: 'state=ignored',
      }),
    );

    expect(await tagsOf('kept')).toEqual(['state=current']);
  });
});
