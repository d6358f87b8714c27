/**
 * A stand-in for the rpm-cache handler on 127.0.0.1, for command line tests:
 * each request is answered by a function of the request and how many times
 * its path was asked, with the headers the real handler would send
 * (`X-Cache`, `X-Cache-Origin-Status`, ...), or never answered (`stall`).
 * It serves answers the local stack cannot be brought to give on cue.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface StandInAsk {
  readonly method: string;
  /** The path, as the client encoded it, without the query. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

export type StandInAnswer =
  | { readonly status: number; readonly headers?: Record<string, string> }
  /** Accept the request, never answer. */
  | 'stall';

/** `nth` counts the asks of this path, from 1. */
export type StandInScript = (ask: StandInAsk, nth: number) => StandInAnswer;

/** The handler's answer for a package it has (`stored`). */
export const storedAnswer: StandInAnswer = {
  status: 302,
  headers: { location: 'http://127.0.0.1:9/stored', 'x-cache': 'stored' },
};

/** The handler's answer while it fetches a package from origin (`miss`, origin 200). */
export const uploadingAnswer: StandInAnswer = {
  status: 302,
  headers: { location: 'http://127.0.0.1:9/origin', 'x-cache': 'miss', 'x-cache-origin-status': '200' },
};

/** The handler's answer for a package the origin lost and it has no copy of. */
export const lostAnswer: StandInAnswer = {
  status: 302,
  headers: { location: 'http://127.0.0.1:9/origin', 'x-cache': 'miss', 'x-cache-origin-status': '404' },
};

/** The handler's answer once the uploader refused the copy the origin still serves (#29). */
export const refusedAnswer = (reason: string): StandInAnswer => ({
  status: 302,
  headers: {
    location: 'http://127.0.0.1:9/origin',
    'x-cache': 'miss',
    'x-cache-origin-status': '200',
    'x-cache-upload': 'refused',
    'x-cache-upload-reason': reason,
  },
});

export class CacheStandIn {
  readonly asks: StandInAsk[] = [];
  private readonly counts = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private port = 0;

  private constructor(private readonly script: StandInScript) {
    this.server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0] ?? '/';
      const ask = { method: request.method ?? 'GET', path, headers: request.headers };
      this.asks.push(ask);
      const nth = (this.counts.get(path) ?? 0) + 1;
      this.counts.set(path, nth);
      const answer = this.script(ask, nth);
      if (answer === 'stall') return;
      response.writeHead(answer.status, answer.headers ?? {}).end();
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(script: StandInScript): Promise<CacheStandIn> {
    const standIn = new CacheStandIn(script);
    await new Promise<void>((resolve) => standIn.server.listen(0, '127.0.0.1', resolve));
    standIn.port = (standIn.server.address() as AddressInfo).port;
    return standIn;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** How many times `path` (as asked, without the query) was asked. */
  asksOf(path: string): number {
    return this.counts.get(path) ?? 0;
  }

  async close(): Promise<void> {
    // Stalled requests hold their sockets open: close them, or close() waits for ever.
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
