import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the runtime client posted back for one invocation. */
export interface RuntimeAnswer {
  readonly requestId: string;
  readonly kind: 'response' | 'error';
  readonly body: unknown;
}

const API = '/2018-06-01/runtime';

/**
 * A small Lambda Runtime API on 127.0.0.1, as Lambda serves it to the runtime
 * interface client: `GET invocation/next` hands out queued events (with the
 * `lambda-runtime-*` headers), `POST invocation/<id>/response|error` takes
 * the answer, `POST init/error` reports a failed start.
 */
export class RuntimeApiServer {
  readonly initErrors: unknown[] = [];
  private readonly queue: { requestId: string; event: unknown }[] = [];
  private readonly waitingPolls: ServerResponse[] = [];
  private readonly answers = new Map<string, (answer: RuntimeAnswer) => void>();
  private readonly server: Server;
  private port = 0;
  private count = 0;

  private constructor() {
    this.server = createServer((request, response) => {
      this.answer(request, response).catch(() => response.writeHead(500).end());
    });
  }

  static async start(): Promise<RuntimeApiServer> {
    const api = new RuntimeApiServer();
    await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
    api.port = (api.server.address() as AddressInfo).port;
    return api;
  }

  /** The value of AWS_LAMBDA_RUNTIME_API. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Queues `event` and resolves with what the function answered. */
  invoke(event: unknown): Promise<RuntimeAnswer> {
    this.count += 1;
    const requestId = `00000000-0000-4000-8000-${String(this.count).padStart(12, '0')}`;
    const answered = new Promise<RuntimeAnswer>((resolve) => this.answers.set(requestId, resolve));
    this.queue.push({ requestId, event });
    this.dispatch();
    return answered;
  }

  async close(): Promise<void> {
    for (const poll of this.waitingPolls.splice(0)) poll.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private dispatch(): void {
    while (this.queue.length > 0 && this.waitingPolls.length > 0) {
      const next = this.queue.shift();
      const poll = this.waitingPolls.shift();
      if (next === undefined || poll === undefined) return;
      poll.writeHead(200, {
        'content-type': 'application/json',
        'lambda-runtime-aws-request-id': next.requestId,
        'lambda-runtime-deadline-ms': String(Date.now() + 60_000),
        'lambda-runtime-invoked-function-arn': 'arn:aws:lambda:eu-west-1:123456789012:function:rpm-cache',
        'lambda-runtime-trace-id': 'Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=0',
      });
      poll.end(JSON.stringify(next.event));
    }
  }

  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body: unknown = text === '' ? undefined : JSON.parse(text);
    const url = request.url ?? '';
    if (request.method === 'GET' && url === `${API}/invocation/next`) {
      this.waitingPolls.push(response);
      this.dispatch();
      return;
    }
    const posted = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(url);
    if (request.method === 'POST' && posted !== null) {
      const [, requestId = '', kind] = posted;
      this.answers.get(requestId)?.({ requestId, kind: kind === 'error' ? 'error' : 'response', body });
      response.writeHead(202).end();
      return;
    }
    if (request.method === 'POST' && url === `${API}/init/error`) {
      this.initErrors.push(body);
      response.writeHead(202).end();
      return;
    }
    response.writeHead(404).end();
  }
}
