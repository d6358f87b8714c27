/**
 * The handler's origin HEAD over node:http(s): connections kept alive between
 * requests (Node's fetch opens one per HEAD), a pooled connection the server
 * closed meanwhile retried once, and redirects off the origin by the same
 * policy as every origin request (pinned to the addresses checked, the
 * certificate checked against the name).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { headFromOrigin } from '../../src/handler/origin-head.js';

const listen = async <T extends Server | HttpsServer>(server: T): Promise<T> => {
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  return server;
};
const close = async (server: Server | HttpsServer) => {
  server.closeAllConnections();
  await new Promise((closed) => server.close(closed));
};
const portOf = (server: Server | HttpsServer) => (server.address() as AddressInfo).port;
const head = (url: string) => headFromOrigin(url, { signal: AbortSignal.timeout(5000) });
const statusOf = (answer: Awaited<ReturnType<typeof head>>) =>
  'answer' in answer ? answer.answer.status : answer.refusedRedirect.status;

describe('headFromOrigin', () => {
  let server: Server;
  let connections: Socket[];
  /** What the server does with a request on a connection that already answered one. */
  let onLaterRequest: 'answer' | 'drop';

  beforeAll(async () => {
    server = await listen(
      createServer((request, response) => {
        const socket = request.socket as Socket & { answered?: boolean };
        if (socket.answered === true && onLaterRequest === 'drop') {
          // As a server that closed an idle kept-alive connection the client still had in its pool.
          socket.destroy();
          return;
        }
        socket.answered = true;
        response.writeHead(200, { etag: '"v1"', 'content-length': '1234', 'set-cookie': ['a=1', 'b=2'] }).end();
      }),
    );
    server.on('connection', (socket) => connections.push(socket));
  });
  beforeEach(() => {
    connections = [];
    onLaterRequest = 'answer';
  });
  afterAll(() => close(server));

  it('keeps one connection open for a container’s HEADs, and gives each answer’s headers', async () => {
    const url = `http://127.0.0.1:${portOf(server)}/pub/a.rpm`;

    const answers = [];
    for (let count = 0; count < 5; count += 1) answers.push(await head(url));

    expect(answers.map(statusOf)).toEqual([200, 200, 200, 200, 200]);
    const [first] = answers;
    expect(first !== undefined && 'answer' in first && first.answer.header('ETag')).toBe('"v1"');
    expect(first !== undefined && 'answer' in first && first.answer.header('content-length')).toBe('1234');
    expect(first !== undefined && 'answer' in first && first.answer.header('set-cookie')).toBe('a=1, b=2');
    expect(first !== undefined && 'answer' in first && first.answer.header('location')).toBeNull();
    expect(connections).toHaveLength(1);
  });

  it('sends a HEAD again, once, when the pooled connection it went out on was closed by the server', async () => {
    const url = `http://127.0.0.1:${portOf(server)}/pub/b.rpm`;
    await head(url);
    onLaterRequest = 'drop';

    expect(statusOf(await head(url))).toBe(200);
    expect(connections.length).toBeGreaterThanOrEqual(1);
  });
});

describe('headFromOrigin: a redirect off the origin connects to the address that was checked', () => {
  const tls = {
    key: readFileSync('__tests__/fixtures/tls/mirror.key', 'utf8'),
    cert: readFileSync('__tests__/fixtures/tls/mirror.crt', 'utf8'),
  };
  let origin: Server;
  let mirror: HttpsServer;

  beforeAll(async () => {
    mirror = await listen(
      createHttpsServer(tls, (request, response) => {
        response.writeHead(200, { 'x-mirror': `${request.method} ${request.url}` }).end();
      }),
    );
    origin = await listen(
      createServer((request, response) => {
        response.writeHead(302, { location: `https://mirror.test:${portOf(mirror)}${request.url}` }).end();
      }),
    );
  });
  afterAll(() => Promise.all([close(mirror), close(origin)]));

  it('asks DNS once and connects to that answer, whatever a second lookup would say (rebinding)', async () => {
    const lookups: string[] = [];
    const rebinding = async (hostname: string) => {
      lookups.push(hostname);
      return lookups.length === 1 ? ['127.0.0.1'] : ['10.66.66.66'];
    };

    const answer = await headFromOrigin(`http://127.0.0.1:${portOf(origin)}/pub/x.rpm`, {
      signal: AbortSignal.timeout(5000),
      resolve: rebinding,
      tls: { ca: tls.cert },
    });

    expect('answer' in answer && [answer.url, answer.answer.header('x-mirror')]).toEqual([
      `https://mirror.test:${portOf(mirror)}/pub/x.rpm`,
      'HEAD /pub/x.rpm',
    ]);
    expect(lookups).toEqual(['mirror.test']);
  });

  it('still checks the certificate against the name, not the address', async () => {
    await expect(
      headFromOrigin(`http://127.0.0.1:${portOf(origin)}/pub/x.rpm`, {
        signal: AbortSignal.timeout(5000),
        resolve: async () => ['127.0.0.1'],
      }),
    ).rejects.toThrow();
  });
});
