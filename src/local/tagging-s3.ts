/**
 * Object tags for the embedded S3 server. s3rver keeps tags set with
 * PutObjectTagging but ignores the `x-amz-tagging` header that PutObject,
 * CreateMultipartUpload and CopyObject (`x-amz-tagging-directive: REPLACE`)
 * carry, so on its own a snapshot file stored `unreferenced`, or retired by a
 * copy onto itself, would keep whatever tag it had: the lifecycle rule's view
 * of the bucket would differ from AWS's. This proxy in front of it passes
 * every request through and, once such a write succeeded, sets the tags it
 * carried with PutObjectTagging before it answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PutObjectTaggingCommand, S3Client, type Tag } from '@aws-sdk/client-s3';
import { exchange, forward, objectOf, type S3Proxy, startS3Proxy } from './s3-proxy.js';

export type TaggingS3Proxy = S3Proxy;

/** `key=value&...` as S3 takes it in `x-amz-tagging`. */
const tagSet = (header: string): Tag[] => [...new URLSearchParams(header)].map(([Key, Value]) => ({ Key, Value }));

/** The tags a request sets on its object once it succeeds, and what kind of write it is. */
const taggedWrite = (request: IncomingMessage, url: URL) => {
  const header = request.headers['x-amz-tagging'];
  if (typeof header !== 'string') return undefined;
  const copy = request.headers['x-amz-copy-source'] !== undefined;
  if (request.method === 'PUT' && !url.searchParams.has('partNumber')) {
    if (copy && request.headers['x-amz-tagging-directive'] !== 'REPLACE') return undefined;
    return { kind: 'put', tags: tagSet(header) } as const;
  }
  if (request.method === 'POST' && url.searchParams.has('uploads'))
    return { kind: 'create-upload', tags: tagSet(header) } as const;
  return undefined;
};

export const startTaggingS3Proxy = async (
  target: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
): Promise<TaggingS3Proxy> => {
  const targetUrl = new URL(target);
  const s3 = new S3Client({ endpoint: target, forcePathStyle: true, region: 'us-east-1', credentials });
  /** Tags of multipart uploads in progress, by upload id, set when they complete. */
  const uploads = new Map<string, Tag[]>();

  const setTags = (bucket: string, key: string, TagSet: Tag[]) =>
    s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: key, Tagging: { TagSet } }));

  const answer = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://s3');
    const object = objectOf(url);
    const write = object === undefined ? undefined : taggedWrite(request, url);
    const completing = request.method === 'POST' ? url.searchParams.get('uploadId') : null;
    if (object === undefined || (write === undefined && (completing === null || !uploads.has(completing)))) {
      await forward(targetUrl, request, response);
      return;
    }
    const answered = await exchange(targetUrl, request);
    if (answered.status < 300) {
      if (write?.kind === 'put') await setTags(object.bucket, object.key, write.tags);
      if (write?.kind === 'create-upload') {
        const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(answered.body.toString())?.[1];
        if (uploadId !== undefined) uploads.set(uploadId, write.tags);
      }
      if (completing !== null) {
        const tags = uploads.get(completing);
        uploads.delete(completing);
        if (tags !== undefined && !answered.body.toString().includes('<Error>'))
          await setTags(object.bucket, object.key, tags);
      }
    }
    response.writeHead(answered.status, answered.headers).end(answered.body);
  };

  return startS3Proxy('tagging proxy', answer, () => s3.destroy());
};
