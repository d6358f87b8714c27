/**
 * The port `npm start` suggests when PORT is taken: one that binds at that
 * moment, never one a local origin is configured on (it may not listen yet).
 */
import { createServer, type Server } from 'node:net';
import { localOriginPorts, suggestFreePort } from '../../src/local/free-port.js';

const listenOn = async (port: number): Promise<Server | undefined> => {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve(server));
  });
};

const close = (server: Server | undefined) =>
  new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));

/** Three consecutive ports held by this test, so the probe meets taken neighbours. */
const holdThreeInARow = async (): Promise<{ first: number; servers: Server[] }> => {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const first = await listenOn(0);
    const address = first?.address();
    if (first === undefined || typeof address !== 'object' || address === null || address.port > 65_000) {
      await close(first);
      continue;
    }
    const second = await listenOn(address.port + 1);
    const third = await listenOn(address.port + 2);
    if (second !== undefined && third !== undefined) return { first: address.port, servers: [first, second, third] };
    await Promise.all([first, second, third].map(close));
  }
  throw new Error('found no three free ports in a row');
};

describe('the port suggested when PORT is taken', () => {
  it('skips taken ports and the ports local origins use, and binds', async () => {
    // Prepare
    const { first, servers } = await holdThreeInARow();
    try {
      const avoid = new Set([first + 3]);

      // Act
      const suggested = await suggestFreePort('127.0.0.1', first, avoid);

      // Assess
      expect(suggested).toBeDefined();
      expect([first, first + 1, first + 2, first + 3]).not.toContain(suggested);
      const proof = await listenOn(suggested ?? 0);
      expect(proof).toBeDefined();
      await close(proof);
    } finally {
      await Promise.all(servers.map(close));
    }
  });

  it('is undefined when nothing binds on that host', async () => {
    // 192.0.2.1 (TEST-NET-1) is no address of this machine.
    expect(await suggestFreePort('192.0.2.1', 8080, new Set())).toBeUndefined();
  });

  it('reads the local ports of ORIGIN_HOST and ORIGINS, not remote ones', () => {
    const ports = localOriginPorts({
      ORIGIN_HOST: 'http://127.0.0.1:8081',
      ORIGINS: 'a=http://localhost:9001/x,https://mirror.example:9002 b=http://[::1]:9003',
    });

    expect([...ports].sort()).toEqual([8081, 9001, 9003]);
    expect(localOriginPorts({ ORIGIN_HOST: 'dl.fedoraproject.org' }).size).toBe(0);
    expect([...localOriginPorts({ ORIGIN_HOST: '127.0.0.1:8085' })]).toEqual([8085]);
  });
});
