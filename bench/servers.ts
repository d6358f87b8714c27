/**
 * Local stand-ins with injected latency for the origin, S3 and the Lambda
 * Invoke API, as the handler benchmark needs them: each answers after its
 * configured delay, with keep-alive, as the real services would.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const LATENCY_MS = Object.freeze({
  origin: Number(process.env.BENCH_ORIGIN_MS ?? 40),
  s3: Number(process.env.BENCH_S3_MS ?? 10),
  invoke: Number(process.env.BENCH_INVOKE_MS ?? 15),
});

const listen = async (answer: (request: IncomingMessage, response: ServerResponse) => void): Promise<Server> => {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => answer(request, response));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
};

export const urlOf = (server: Server): string => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const later = (ms: number, work: () => void) => setTimeout(work, ms);

/** Origin: `/ok/...` 200, `/gone/...` 404, `/stall/...` never answers. */
export const startOrigin = () =>
  listen((request, response) => {
    const path = request.url ?? '/';
    if (path.startsWith('/stall/')) return;
    later(LATENCY_MS.origin, () => response.writeHead(path.startsWith('/ok/') ? 200 : 404).end());
  });

/** S3: an object exists when its key has a `cached` segment. */
export const startS3 = () =>
  listen((request, response) => {
    const cached = decodeURIComponent(request.url ?? '').includes('/cached/');
    later(LATENCY_MS.s3, () =>
      cached
        ? response
            .writeHead(200, { 'content-length': '3', etag: '"e"', 'last-modified': new Date().toUTCString() })
            .end()
        : response.writeHead(404).end(),
    );
  });

/** Lambda Invoke: 202 for every async invoke. */
export const startInvoke = () =>
  listen((_request, response) => later(LATENCY_MS.invoke, () => response.writeHead(202).end()));
