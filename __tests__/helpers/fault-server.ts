import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A way for a server to misbehave. */
export type Fault =
  /** Accept, read the request, never answer. */
  | { readonly kind: 'stall' }
  /** Close the connection as the request arrives. */
  | { readonly kind: 'reset' }
  /** Answer with bytes that are not HTTP (no status line). */
  | { readonly kind: 'garbage' }
  | {
      readonly kind: 'respond';
      readonly status: number;
      readonly headers?: Record<string, string>;
      readonly body?: string;
    };

export type Answer = (request: IncomingMessage, body: Buffer, response: ServerResponse) => void;

/**
 * A real HTTP server on 127.0.0.1 that answers normally through `answer`,
 * or misbehaves as `fault` says; `refuse()` stops it listening (connections
 * are refused) and `resume()` starts it again on the same port.
 */
export class FaultServer {
  fault: Fault | undefined;
  requests = 0;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  private constructor(private readonly answer: Answer) {
    this.server = createServer((request, response) => this.handle(request, response));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(answer: Answer): Promise<FaultServer> {
    const server = new FaultServer(answer);
    await server.resume();
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  async refuse(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async resume(): Promise<void> {
    if (this.server.listening) return;
    await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    await this.refuse();
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    this.requests += 1;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const fault = this.fault;
      switch (fault?.kind) {
        case 'stall':
          return;
        case 'reset':
          request.socket.destroy();
          return;
        case 'garbage':
          request.socket.end('this is not HTTP\r\n\r\n');
          return;
        case 'respond':
          response.writeHead(fault.status, fault.headers).end(fault.body);
          return;
        default:
          this.answer(request, Buffer.concat(chunks), response);
      }
    });
  }
}
