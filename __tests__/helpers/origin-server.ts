import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** How the mirror answers one path; the default is to serve the file if it has it. */
export type OriginBehaviour =
  | { readonly kind: 'status'; readonly status: number; readonly headers?: Record<string, string> }
  /** Accept the connection, never answer. */
  | { readonly kind: 'stall' }
  /** Send headers and `bytes` bytes of the file, then cut the connection (after `afterMs`, default 20). */
  | { readonly kind: 'truncate'; readonly bytes: number; readonly afterMs?: number }
  /** Send headers and `bytes` bytes of the file, then go silent. */
  | { readonly kind: 'stall-body'; readonly bytes: number }
  /** Close the connection before any answer. */
  | { readonly kind: 'reset' }
  /** Answer with whatever `respond` writes. */
  | { readonly kind: 'custom'; readonly respond: (request: IncomingMessage, response: ServerResponse) => void }
  /** Serve the file in `chunks` pieces, `delayMs` apart. */
  | { readonly kind: 'slow'; readonly chunks: number; readonly delayMs: number };

export interface OriginRequest {
  readonly method: string;
  /** The raw request target, as encoded by the client. */
  readonly url: string;
}

/** The ETag the stand-in gives `file`: as a web server does, one that changes with the file (a mirror's next repomd.xml). */
export const originEtag = (file: Buffer): string => `"${createHash('sha256').update(file).digest('hex').slice(0, 16)}"`;

/**
 * A real HTTP mirror on 127.0.0.1 that tests control: files by decoded path,
 * per-path faults, and a log of what it was asked.
 */
export class OriginServer {
  readonly files = new Map<string, Buffer>();
  readonly behaviours = new Map<string, OriginBehaviour>();
  /** How every path without a behaviour of its own is answered; unset: serve files. */
  defaultBehaviour: OriginBehaviour | undefined;
  readonly requests: OriginRequest[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  private constructor() {
    this.server = createServer((request, response) => this.answer(request, response));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(): Promise<OriginServer> {
    const origin = new OriginServer();
    await new Promise<void>((resolve) => origin.server.listen(0, '127.0.0.1', resolve));
    origin.port = (origin.server.address() as AddressInfo).port;
    return origin;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Forgets files, faults and the request log, for the next test. */
  reset(): void {
    this.files.clear();
    this.behaviours.clear();
    this.defaultBehaviour = undefined;
    this.requests.length = 0;
  }

  requestsFor(method: string): OriginRequest[] {
    return this.requests.filter((request) => request.method === method);
  }

  /** Stops listening (later connections are refused); safe to call twice. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Listens again on the same port after `close`, so a stack pointed at it finds it back. */
  async reopen(): Promise<void> {
    if (this.server.listening) return;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  private answer(request: IncomingMessage, response: ServerResponse): void {
    const method = request.method ?? 'GET';
    const url = request.url ?? '/';
    this.requests.push({ method, url });
    const path = decodeURIComponent(new URL(url, 'http://origin').pathname).replace(/^\//, '');
    const behaviour = this.behaviours.get(path) ?? this.defaultBehaviour;
    const file = this.files.get(path);

    switch (behaviour?.kind) {
      case 'status':
        response.writeHead(behaviour.status, behaviour.headers).end();
        return;
      case 'stall':
        return;
      case 'custom':
        behaviour.respond(request, response);
        return;
      case 'reset':
        request.socket.destroy();
        return;
      case 'truncate':
      case 'stall-body': {
        const body = file ?? Buffer.alloc(0);
        response.writeHead(200, { 'content-length': String(body.length), 'content-type': 'application/x-rpm' });
        response.write(body.subarray(0, behaviour.bytes));
        if (behaviour.kind === 'truncate') setTimeout(() => request.socket.destroy(), behaviour.afterMs ?? 20);
        return;
      }
      case 'slow': {
        const body = file ?? Buffer.alloc(0);
        response.writeHead(200, { 'content-length': String(body.length), 'content-type': 'application/x-rpm' });
        if (method === 'HEAD') {
          response.end();
          return;
        }
        const size = Math.ceil(body.length / behaviour.chunks);
        let offset = 0;
        const sendNext = () => {
          response.write(body.subarray(offset, offset + size));
          offset += size;
          if (offset >= body.length) response.end();
          else setTimeout(sendNext, behaviour.delayMs);
        };
        sendNext();
        return;
      }
      default:
        break;
    }

    if (file === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end(method === 'HEAD' ? undefined : 'Not Found');
      return;
    }
    const etag = originEtag(file);
    response.writeHead(200, { 'content-length': String(file.length), 'content-type': 'application/x-rpm', etag });
    response.end(method === 'HEAD' ? undefined : file);
  }
}

/** A base URL on which nothing listens: connections are refused. */
export const refusedBaseUrl = async (): Promise<string> => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
};
