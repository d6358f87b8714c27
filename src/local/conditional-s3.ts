/**
 * Conditional writes for the embedded S3 server. s3rver ignores `If-None-Match`
 * and `If-Match`, so on its own it lets two uploaders both commit a key and
 * overwrite a live download claim. This proxy in front of it answers as S3
 * does (AWS S3 user guide, "How to prevent object overwrites with conditional
 * writes"): of several conditional writes to one key, the first to complete
 * wins and the others are judged on what it left, so they get 412
 * PreconditionFailed (`If-None-Match: *` meeting an existing key, `If-Match`
 * a different ETag; 404 NoSuchKey for `If-Match` on no object); 409
 * ConditionalRequestConflict only when a DELETE of the key completes while a
 * conditional write to it is in flight. A write completes when its whole body
 * has arrived (a PUT) or its CompleteMultipartUpload is sent, so bodies are
 * read before they are judged. Everything else, and every write it lets
 * through, passes to s3rver untouched (the SigV4 signature covers those headers).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { bodyOf, errorXml, forward, objectOf, type S3Proxy, startS3Proxy } from './s3-proxy.js';

export type ConditionalS3Proxy = S3Proxy;

/** An answer S3 gives instead of writing. */
interface Refusal {
  readonly status: number;
  readonly body: string;
}

const CONFLICT: Refusal = {
  status: 409,
  body: errorXml(
    'ConditionalRequestConflict',
    'A conflicting conditional operation is currently in progress against this resource. Please retry.',
  ),
};
const PRECONDITION_MESSAGE = 'At least one of the pre-conditions you specified did not hold';

/** PutObject, or CompleteMultipartUpload: the writes that take conditions. */
const isConditionableWrite = (method: string | undefined, url: URL, headers: IncomingMessage['headers']): boolean => {
  if (method === 'PUT') return !url.searchParams.has('partNumber') && headers['x-amz-copy-source'] === undefined;
  return method === 'POST' && url.searchParams.has('uploadId');
};

/** What a request is to this proxy: a conditional write, or anything else on an object (or none). */
type ProxiedRequest =
  | {
      readonly kind: 'conditional-write';
      readonly bucket: string;
      readonly key: string;
      readonly lock: string;
      readonly ifNoneMatch: string | undefined;
      readonly ifMatch: string | undefined;
    }
  | { readonly kind: 'other'; readonly lock: string | undefined };

const classify = (request: IncomingMessage): ProxiedRequest => {
  const url = new URL(request.url ?? '/', 'http://s3');
  const object = objectOf(url);
  const lock = object === undefined ? undefined : `${object.bucket}/${object.key}`;
  const ifNoneMatch = request.headers['if-none-match'];
  const ifMatch = request.headers['if-match'];
  const conditional = ifNoneMatch !== undefined || ifMatch !== undefined;
  if (
    object === undefined ||
    lock === undefined ||
    !conditional ||
    !isConditionableWrite(request.method, url, request.headers)
  ) {
    return { kind: 'other', lock };
  }
  return { kind: 'conditional-write', ...object, lock, ifNoneMatch, ifMatch };
};

/** S3's answer to a conditional write given the key's current ETag (undefined: no object), or undefined to write. */
const preconditionRefusal = (
  { ifNoneMatch, ifMatch }: { ifNoneMatch: string | undefined; ifMatch: string | undefined },
  etag: string | undefined,
): Refusal | undefined => {
  if (ifNoneMatch === '*' && etag !== undefined) {
    return { status: 412, body: errorXml('PreconditionFailed', PRECONDITION_MESSAGE, 'If-None-Match') };
  }
  if (ifMatch !== undefined && etag === undefined) {
    return { status: 404, body: errorXml('NoSuchKey', 'The specified key does not exist.') };
  }
  if (ifMatch !== undefined && ifMatch !== etag) {
    return { status: 412, body: errorXml('PreconditionFailed', PRECONDITION_MESSAGE, 'If-Match') };
  }
  return undefined;
};

const refuse = (request: IncomingMessage, response: ServerResponse, { status, body }: Refusal): void => {
  request.resume();
  response.writeHead(status, { 'content-type': 'application/xml' }).end(body);
};

/** One conditional write, from its arrival to its answer. */
interface InFlightWrite {
  /** A DELETE of its key completed meanwhile: S3 answers it 409. */
  deletedMeanwhile: boolean;
}

/**
 * Conditional writes by `bucket/key`: those in flight (a DELETE marks them),
 * and the order in which complete ones are judged and written, one at a time
 * per key; reads of a key wait for the write being committed.
 */
class ConditionalWrites {
  private readonly inFlight = new Map<string, Set<InFlightWrite>>();
  private readonly committing = new Map<string, Promise<void>>();

  arrived(lock: string): InFlightWrite {
    const write = { deletedMeanwhile: false };
    const writes = this.inFlight.get(lock) ?? new Set();
    writes.add(write);
    this.inFlight.set(lock, writes);
    return write;
  }

  answered(lock: string, write: InFlightWrite): void {
    const writes = this.inFlight.get(lock);
    writes?.delete(write);
    if (writes?.size === 0) this.inFlight.delete(lock);
  }

  deleted(lock: string): void {
    for (const write of this.inFlight.get(lock) ?? []) write.deletedMeanwhile = true;
  }

  /** Waits for the writes to `lock` judged before this one; the returned function lets the next one go. */
  async turn(lock: string): Promise<() => void> {
    const before = this.committing.get(lock) ?? Promise.resolve();
    let done = (): void => undefined;
    const mine = before.then(() => new Promise<void>((resolve) => (done = resolve)));
    this.committing.set(lock, mine);
    await before;
    return () => {
      if (this.committing.get(lock) === mine) this.committing.delete(lock);
      done();
    };
  }

  /** Settles once the writes to `lock` judged so far are written. */
  async committed(lock: string | undefined): Promise<void> {
    if (lock !== undefined) await this.committing.get(lock);
  }
}

export const startConditionalS3Proxy = async (
  target: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
): Promise<ConditionalS3Proxy> => {
  const targetUrl = new URL(target);
  const s3 = new S3Client({ endpoint: target, forcePathStyle: true, region: 'us-east-1', credentials });
  const writes = new ConditionalWrites();

  const currentEtag = async (bucket: string, key: string): Promise<string | undefined> => {
    try {
      return (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ETag ?? '';
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
      throw error;
    }
  };

  const answer = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const proxied = classify(request);
    if (proxied.kind === 'other') {
      // S3 writes are atomic: a read of a key being written sees the object before or after, never
      // s3rver's half-written files.
      if (request.method === 'GET' || request.method === 'HEAD') await writes.committed(proxied.lock);
      const status = await forward(targetUrl, request, response);
      if (request.method === 'DELETE' && proxied.lock !== undefined && status < 300) writes.deleted(proxied.lock);
      return;
    }
    const write = writes.arrived(proxied.lock);
    try {
      // A write completes when its body has arrived: the first complete one is judged first.
      const body = await bodyOf(request);
      const next = await writes.turn(proxied.lock);
      try {
        if (write.deletedMeanwhile) return refuse(request, response, CONFLICT);
        const refusal = preconditionRefusal(proxied, await currentEtag(proxied.bucket, proxied.key));
        if (refusal !== undefined) return refuse(request, response, refusal);
        await forward(targetUrl, request, response, body);
      } finally {
        next();
      }
    } finally {
      writes.answered(proxied.lock, write);
    }
  };

  return startS3Proxy('conditional-write proxy', answer, () => s3.destroy());
};
