/**
 * Conditional writes for the embedded S3 server. s3rver ignores `If-None-Match`
 * and `If-Match`, so on its own it lets two uploaders both commit a key and
 * overwrite a live download claim. This proxy in front of it answers as S3
 * does: 412 PreconditionFailed when `If-None-Match: *` meets an existing key
 * or `If-Match` a different ETag (404 NoSuchKey when there is no object), and
 * 409 ConditionalRequestConflict while another conditional write to the same
 * key is in flight. Everything else, and every write it lets through, passes
 * to s3rver untouched (the SigV4 signature covers those headers).
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';

export interface ConditionalS3Proxy {
  readonly endpoint: string;
  close(): Promise<void>;
}

const errorXml = (code: string, message: string, condition?: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>${
    condition === undefined ? '' : `<Condition>${condition}</Condition>`
  }</Error>`;

/** An answer S3 gives instead of writing. */
interface Refusal {
  readonly status: number;
  readonly body: string;
}

const CONFLICT: Refusal = {
  status: 409,
  body: errorXml(
    'ConditionalRequestConflict',
    'A conflicting conditional operation is currently in progress against this resource.',
  ),
};
const PRECONDITION_MESSAGE = 'At least one of the pre-conditions you specified did not hold';

/** The bucket and key of a path-style object request, or undefined for bucket-level requests. */
const objectOf = (url: URL): { bucket: string; key: string } | undefined => {
  const [, bucket, ...key] = url.pathname.split('/');
  if (bucket === undefined || bucket === '' || key.length === 0 || key.join('/') === '') return undefined;
  return { bucket: decodeURIComponent(bucket), key: decodeURIComponent(key.join('/')) };
};

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

/** Passes the request to s3rver as it came; settles when the answer has been sent. */
const forward = (target: URL, request: IncomingMessage, response: ServerResponse): Promise<void> =>
  new Promise((resolve) => {
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: request.method, path: request.url, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
        answer.on('end', resolve);
        answer.on('error', resolve);
      },
    );
    upstream.on('error', () => {
      if (!response.headersSent) response.writeHead(502);
      response.end();
      resolve();
    });
    request.pipe(upstream);
  });

/** Conditional writes in flight, by `bucket/key`: one at a time per key, and reads wait for it. */
class WritesInFlight {
  private readonly writes = new Map<string, Promise<void>>();

  has(lock: string): boolean {
    return this.writes.has(lock);
  }

  /** Marks a write to `lock` as in flight until the returned function is called. */
  start(lock: string): () => void {
    let ended = (): void => undefined;
    this.writes.set(
      lock,
      new Promise<void>((resolve) => {
        ended = resolve;
      }),
    );
    return () => {
      this.writes.delete(lock);
      ended();
    };
  }

  /** Settles once no write to `lock` is in flight. */
  async ended(lock: string | undefined): Promise<void> {
    if (lock !== undefined) await this.writes.get(lock);
  }
}

export const startConditionalS3Proxy = async (
  target: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
): Promise<ConditionalS3Proxy> => {
  const targetUrl = new URL(target);
  const s3 = new S3Client({ endpoint: target, forcePathStyle: true, region: 'us-east-1', credentials });
  const writes = new WritesInFlight();

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
      if (request.method === 'GET' || request.method === 'HEAD') await writes.ended(proxied.lock);
      return forward(targetUrl, request, response);
    }
    if (writes.has(proxied.lock)) return refuse(request, response, CONFLICT);
    const end = writes.start(proxied.lock);
    try {
      const refusal = preconditionRefusal(proxied, await currentEtag(proxied.bucket, proxied.key));
      if (refusal !== undefined) return refuse(request, response, refusal);
      await forward(targetUrl, request, response);
    } finally {
      end();
    }
  };

  const server: Server = createServer((request, response) => {
    answer(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/xml' });
      response.end(errorXml('InternalError', 'The local conditional-write proxy failed.'));
    });
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((closed) => server.close(() => closed()));
      s3.destroy();
    },
  };
};
