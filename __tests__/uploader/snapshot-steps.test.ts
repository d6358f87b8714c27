/**
 * The S3 contract of a snapshot's commit and retirement, at the SDK: what
 * AWS is asked (a conditional manifest write; a copy onto itself that
 * restarts the lifecycle's clock) and how each of its answers is taken.
 */
import { CopyObjectCommand, PutObjectCommand, PutObjectTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import type { SnapshotManifest } from '../../src/commons/snapshot-manifest.js';
import { writeManifest } from '../../src/uploader/snapshot/commit.js';
import { settleSnapshot } from '../../src/uploader/snapshot/retire.js';
import { renew } from '../../src/uploader/snapshot/store.js';
import { ConditionalWriteConflictError } from '../../src/uploader/upload-errors.js';
import { s3Error } from '../helpers/aws.js';

const BUCKET = 'rpm-cache-bucket';
const REPO = 'pub/repo +1/';
const key = (fill: string) => `snapshots/blobs/${REPO}repodata/sha256-${fill.repeat(64)}`;
const MANIFEST: SnapshotManifest = {
  id: 'a'.repeat(64),
  createdAt: '2026-12-03T00:00:00Z',
  validators: {},
  files: {
    'repodata/repomd.xml': { key: key('a'), contentNamed: false },
    'repodata/shared.xml.gz': { key: key('s'), contentNamed: false },
  },
  absent: [],
  previous: {
    id: 'b'.repeat(64),
    files: {
      'repodata/repomd.xml': { key: key('b'), contentNamed: false },
      'repodata/shared.xml.gz': { key: key('s'), contentNamed: false },
      'repodata/gone.xml.gz': { key: key('g'), contentNamed: false },
    },
  },
  settled: false,
};

describe('snapshot steps at the S3 contract', () => {
  const s3Mock = mockClient(S3Client);
  const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' } });

  beforeEach(() => {
    s3Mock.reset();
  });

  describe('writeManifest', () => {
    it('writes the first manifest of a repository only if there is none (If-None-Match: *)', async () => {
      s3Mock.on(PutObjectCommand).resolves({ ETag: '"m1"' });

      expect(await writeManifest(s3, { bucket: BUCKET, repoDir: REPO, manifest: MANIFEST, etag: undefined })).toEqual({
        written: true,
        etag: '"m1"',
      });
      expect(s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({
        Key: `snapshots/current/${REPO}repodata/repomd.xml`,
        IfNoneMatch: '*',
      });
    });

    it('replaces the manifest it read, and only that one (If-Match its ETag)', async () => {
      s3Mock.on(PutObjectCommand).resolves({ ETag: '"m2"' });

      await writeManifest(s3, { bucket: BUCKET, repoDir: REPO, manifest: MANIFEST, etag: '"m1"' });

      const input = s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input;
      expect(input).toMatchObject({ IfMatch: '"m1"' });
      expect(input).not.toHaveProperty('IfNoneMatch');
    });

    it('loses the race on 412: another write completed first', async () => {
      s3Mock.on(PutObjectCommand).rejects(s3Error('PreconditionFailed', 412));

      expect(await writeManifest(s3, { bucket: BUCKET, repoDir: REPO, manifest: MANIFEST, etag: '"m1"' })).toEqual({
        written: false,
      });
    });

    it('throws on 409 for a retry: a conflicting operation was in flight and nothing was decided', async () => {
      s3Mock.on(PutObjectCommand).rejects(s3Error('ConditionalRequestConflict', 409));

      await expect(
        writeManifest(s3, { bucket: BUCKET, repoDir: REPO, manifest: MANIFEST, etag: '"m1"' }),
      ).rejects.toBeInstanceOf(ConditionalWriteConflictError);
    });
  });

  describe('renew', () => {
    it('copies the object onto itself with new metadata and the tag replaced, so S3 counts days from now', async () => {
      s3Mock.on(CopyObjectCommand).resolves({});
      const stamp = new Date('2026-12-03T12:00:00Z');

      expect(
        await renew(s3, {
          bucket: BUCKET,
          key: key('g'),
          path: 'repodata/gone.xml.gz',
          value: 'unreferenced',
          stamp,
          because: 'retired-at',
        }),
      ).toBe(true);
      expect(s3Mock.commandCalls(CopyObjectCommand)[0]?.args[0].input).toEqual({
        Bucket: BUCKET,
        Key: key('g'),
        CopySource: `${BUCKET}/snapshots/blobs/pub/repo%20%2B1/repodata/sha256-${'g'.repeat(64)}`,
        MetadataDirective: 'REPLACE',
        Metadata: { 'retired-at': '2026-12-03T12:00:00.000Z' },
        ContentType: 'application/octet-stream',
        TaggingDirective: 'REPLACE',
        Tagging: 'rpm-cache-snapshot=unreferenced',
      });
    });

    it('says so when the object is gone (expired already)', async () => {
      s3Mock.on(CopyObjectCommand).rejects(s3Error('NoSuchKey', 404));

      expect(
        await renew(s3, {
          bucket: BUCKET,
          key: key('g'),
          path: 'repodata/gone.xml.gz',
          value: 'unreferenced',
          stamp: new Date(),
          because: 'retired-at',
        }),
      ).toBe(false);
    });
  });

  describe('settleSnapshot', () => {
    it('tags every current file, retires only what the new snapshot no longer lists, then marks the manifest settled', async () => {
      s3Mock.on(PutObjectTaggingCommand).resolves({});
      s3Mock.on(CopyObjectCommand).resolves({});
      s3Mock.on(PutObjectCommand).resolves({ ETag: '"m3"' });

      const settled = await settleSnapshot(s3, {
        bucket: BUCKET,
        repoDir: REPO,
        current: { manifest: MANIFEST, etag: '"m2"' },
        now: () => new Date('2026-12-03T12:00:00Z'),
      });

      expect(settled).toEqual({ retired: 2 });
      expect(
        s3Mock
          .commandCalls(PutObjectTaggingCommand)
          .map((call) => call.args[0].input.Key)
          .sort(),
      ).toEqual([key('a'), key('s')].sort());
      expect(
        s3Mock
          .commandCalls(CopyObjectCommand)
          .map((call) => call.args[0].input.Key)
          .sort(),
      ).toEqual([key('b'), key('g')].sort());
      const [entry, write] = s3Mock.commandCalls(PutObjectCommand).map((call) => call.args[0].input);
      // The history entry before the manifest says settled: a run stopped in between writes it again.
      expect(entry).toMatchObject({
        Key: `snapshots/history/${REPO}repodata/20261203T000000Z_${MANIFEST.id}_.json`,
        Tagging: 'rpm-cache-snapshot=history',
      });
      expect(JSON.parse(String(entry?.Body))).toMatchObject({ id: MANIFEST.id, previous: MANIFEST.previous });
      expect(write).toMatchObject({ IfMatch: '"m2"' });
      expect(JSON.parse(String(write?.Body))).toMatchObject({ id: MANIFEST.id, settled: true });
    });

    it('throws when a current file cannot be tagged, so the run is retried before anything is retired', async () => {
      s3Mock.on(PutObjectTaggingCommand).rejects(s3Error('SlowDown', 503));

      await expect(
        settleSnapshot(s3, {
          bucket: BUCKET,
          repoDir: REPO,
          current: { manifest: MANIFEST, etag: '"m2"' },
          now: () => new Date(),
        }),
      ).rejects.toThrow('SlowDown');
      expect(s3Mock.commandCalls(CopyObjectCommand)).toHaveLength(0);
      expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
    });
  });
});
