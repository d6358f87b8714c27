/**
 * What the embedded store's proxies share: the object a request is about,
 * passing a request on to the server behind (as it came, or with its body as
 * read), S3's error document, and a proxy server on a free loopback port.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export const errorXml = (code: string, message: string, condition?: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>${
    condition === undefined ? '' : `<Condition>${condition}</Condition>`
  }</Error>`;

/** The bucket and key of a path-style object request, or undefined for bucket-level requests. */
export const objectOf = (url: URL): { bucket: string; key: string } | undefined => {
  const [, bucket, ...key] = url.pathname.split('/');
  if (bucket === undefined || bucket === '' || key.length === 0 || key.join('/') === '') return undefined;
  return { bucket: decodeURIComponent(bucket), key: decodeURIComponent(key.join('/')) };
};

/** The whole body of a request. */
export const bodyOf = async (request: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

/** The answer of the server behind, read whole. */
export interface UpstreamAnswer {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

const upstreamRequest = (target: URL, request: IncomingMessage, onAnswer: (answer: IncomingMessage) => void) =>
  httpRequest(
    { host: target.hostname, port: target.port, method: request.method, path: request.url, headers: request.headers },
    onAnswer,
  );

/**
 * Passes the request to the server behind as it came (its body as read, when
 * `body` is given) and streams the answer back; settles with its status once
 * it has been sent.
 */
export const forward = (
  target: URL,
  request: IncomingMessage,
  response: ServerResponse,
  body?: Buffer,
): Promise<number> =>
  new Promise((resolve) => {
    const upstream = upstreamRequest(target, request, (answer) => {
      const status = answer.statusCode ?? 502;
      response.writeHead(status, answer.headers);
      answer.pipe(response);
      answer.on('end', () => resolve(status));
      answer.on('error', () => resolve(status));
    });
    upstream.on('error', () => {
      if (!response.headersSent) response.writeHead(502);
      response.end();
      resolve(502);
    });
    if (body === undefined) request.pipe(upstream);
    else upstream.end(body);
  });

/** Passes the request to the server behind as it came and reads its whole answer, to act on it before answering. */
export const exchange = (target: URL, request: IncomingMessage): Promise<UpstreamAnswer> =>
  new Promise((resolve, reject) => {
    const upstream = upstreamRequest(target, request, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () =>
        resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(chunks) }),
      );
      answer.on('error', reject);
    });
    upstream.on('error', reject);
    request.pipe(upstream);
  });

export interface S3Proxy {
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * Serves `answer` on a free loopback port; a request it fails on gets S3's
 * InternalError naming `name`. `close` also runs `cleanup` (its own clients).
 */
export const startS3Proxy = async (
  name: string,
  answer: (request: IncomingMessage, response: ServerResponse) => Promise<void>,
  cleanup: () => void,
): Promise<S3Proxy> => {
  const server: Server = createServer((request, response) => {
    answer(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/xml' });
      response.end(errorXml('InternalError', `The local ${name} failed.`));
    });
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((closed) => server.close(() => closed()));
      cleanup();
    },
  };
};
