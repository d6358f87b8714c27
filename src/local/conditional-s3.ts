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

export const startConditionalS3Proxy = async (
  target: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
): Promise<ConditionalS3Proxy> => {
  const targetUrl = new URL(target);
  const s3 = new S3Client({ endpoint: target, forcePathStyle: true, region: 'us-east-1', credentials });
  /** Conditional writes in flight, by `bucket/key`, each settled when its write has ended. */
  const writesInFlight = new Map<string, Promise<void>>();

  const currentEtag = async (bucket: string, key: string): Promise<string | undefined> => {
    try {
      return (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ETag ?? '';
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
      throw error;
    }
  };

  const forward = (request: IncomingMessage, response: ServerResponse): Promise<void> =>
    new Promise((resolve) => {
      const upstream = httpRequest(
        {
          host: targetUrl.hostname,
          port: targetUrl.port,
          method: request.method,
          path: request.url,
          headers: request.headers,
        },
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

  const refuse = (response: ServerResponse, status: number, body: string) => {
    response.writeHead(status, { 'content-type': 'application/xml' }).end(body);
  };

  const answer = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://s3');
    const object = objectOf(url);
    const ifNoneMatch = request.headers['if-none-match'];
    const ifMatch = request.headers['if-match'];
    const conditional = ifNoneMatch !== undefined || ifMatch !== undefined;
    const lock = object === undefined ? undefined : `${object.bucket}/${object.key}`;
    if (
      object === undefined ||
      lock === undefined ||
      !conditional ||
      !isConditionableWrite(request.method, url, request.headers)
    ) {
      // S3 writes are atomic: a read of a key being written sees the object before or after, never
      // s3rver's half-written files. Reads wait for the write in flight to end.
      const inFlight = lock === undefined ? undefined : writesInFlight.get(lock);
      if (inFlight !== undefined && (request.method === 'GET' || request.method === 'HEAD')) await inFlight;
      await forward(request, response);
      return;
    }
    if (writesInFlight.has(lock)) {
      request.resume();
      refuse(
        response,
        409,
        errorXml(
          'ConditionalRequestConflict',
          'A conflicting conditional operation is currently in progress against this resource.',
        ),
      );
      return;
    }
    let ended = (): void => undefined;
    writesInFlight.set(
      lock,
      new Promise<void>((resolve) => {
        ended = resolve;
      }),
    );
    try {
      const etag = await currentEtag(object.bucket, object.key);
      if (ifNoneMatch === '*' && etag !== undefined) {
        request.resume();
        refuse(
          response,
          412,
          errorXml(
            'PreconditionFailed',
            'At least one of the pre-conditions you specified did not hold',
            'If-None-Match',
          ),
        );
        return;
      }
      if (ifMatch !== undefined && etag === undefined) {
        request.resume();
        refuse(response, 404, errorXml('NoSuchKey', 'The specified key does not exist.'));
        return;
      }
      if (ifMatch !== undefined && ifMatch !== etag) {
        request.resume();
        refuse(
          response,
          412,
          errorXml('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 'If-Match'),
        );
        return;
      }
      await forward(request, response);
    } finally {
      writesInFlight.delete(lock);
      ended();
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
