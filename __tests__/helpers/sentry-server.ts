import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/**
 * A Sentry ingest endpoint on 127.0.0.1 that keeps the envelopes it gets, so
 * tests see what the real Sentry SDK sends.
 */
export class SentryServer {
  readonly envelopes: string[] = [];
  private constructor(private readonly server: Server) {}

  static async start(): Promise<SentryServer> {
    const server = createServer();
    const sentry = new SentryServer(server);
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks);
        sentry.envelopes.push(
          (request.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8'),
        );
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return sentry;
  }

  /** A DSN for project 42 on this server; the public key is what must never be logged. */
  get dsn(): string {
    return `http://0123456789abcdef0123456789abcdef@127.0.0.1:${(this.server.address() as AddressInfo).port}/42`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
