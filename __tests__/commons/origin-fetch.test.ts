import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  type AddressLookup,
  fetchFromOrigin,
  MAX_ORIGIN_REDIRECTS,
  redirectDecision,
} from '../../src/commons/origin-fetch.js';

/** Why the policy refuses a redirect from `origin` to `target`, or undefined when it follows it. */
const redirectRefusal = async (target: URL, origin: URL, resolve: AddressLookup) =>
  (await redirectDecision(target, origin, resolve)).refusal;

/** DNS as a table, so the policy is tested without a network. */
const resolver = (table: Record<string, string[]>) => async (hostname: string) => table[hostname] ?? [];
const PUBLIC_ORIGIN = new URL('https://dl.fedoraproject.org/pub/x.rpm');
const dns = resolver({
  'dl.fedoraproject.org': ['38.145.60.24'],
  'mirror.example': ['203.0.113.10', '2001:db8::10'],
  'internal.example': ['10.1.2.3'],
  'sneaky.example': ['203.0.113.11', '127.0.0.1'],
  'v6-internal.example': ['fd00::1'],
});

describe('redirectDecision: where a redirect from the origin may lead', () => {
  it.each([
    ['the same scheme and host, any path', 'https://dl.fedoraproject.org/other/x.rpm'],
    ['https on a public address', 'https://mirror.example/fedora/x.rpm'],
  ])('follows %s', async (_case, target) => {
    expect(await redirectRefusal(new URL(target), PUBLIC_ORIGIN, dns)).toBeUndefined();
  });

  it.each([
    ['plain http to another host', 'http://mirror.example/x.rpm', /only https leaves the origin's host/],
    ['https to the same host on http origin', 'http://dl.fedoraproject.org/x.rpm', /only https/],
    ['a private address', 'https://internal.example/x.rpm', /internal/],
    ['a name with any internal address', 'https://sneaky.example/x.rpm', /internal/],
    ['an IPv6 unique-local address', 'https://v6-internal.example/x.rpm', /internal/],
    ['the metadata service', 'https://169.254.169.254/latest/meta-data/', /internal/],
    ['loopback by literal', 'https://127.0.0.1:8443/x.rpm', /internal/],
    ['IPv6 loopback', 'https://[::1]/x.rpm', /internal/],
    ['an IPv4-mapped private address', 'https://[::ffff:10.0.0.1]/x.rpm', /internal/],
    ['localhost', 'https://localhost/x.rpm', /internal/],
    ['credentials', 'https://user:pw@mirror.example/x.rpm', /credentials/],
    ['credentials on the origin’s own host', 'https://user:pw@dl.fedoraproject.org/x.rpm', /credentials/],
    ['a name that does not resolve (fail closed)', 'https://nowhere.example/x.rpm', /unresolvable/],
    ['an IPv4-compatible IPv6 address', 'https://[::7f00:1]/x.rpm', /internal/],
    ['a NAT64 address', 'https://[64:ff9b::a00:1]/x.rpm', /internal/],
    ['a local-use NAT64 address', 'https://[64:ff9b:1::a00:1]/x.rpm', /internal/],
    ['a Teredo address', 'https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x.rpm', /internal/],
    ['a site-local address', 'https://[fec0::1]/x.rpm', /internal/],
    ['a 6to4 address', 'https://[2002:a00:1::1]/x.rpm', /internal/],
    ['the benchmarking network', 'https://198.18.0.1/x.rpm', /internal/],
    ['the IETF protocol assignments', 'https://192.0.0.8/x.rpm', /internal/],
    ['a multicast address', 'https://224.0.0.1/x.rpm', /internal/],
    ['a reserved address', 'https://240.0.0.1/x.rpm', /internal/],
    ['the broadcast address', 'https://255.255.255.255/x.rpm', /internal/],
    ['an IPv6 multicast address', 'https://[ff02::1]/x.rpm', /internal/],
    ['ftp', 'ftp://mirror.example/x.rpm', /only https/],
  ])('refuses %s', async (_case, target, reason) => {
    expect(await redirectRefusal(new URL(target), PUBLIC_ORIGIN, dns)).toMatch(reason);
  });

  it('lets an origin that is itself internal (the local stack) redirect to internal https hosts', async () => {
    const localOrigin = new URL('http://127.0.0.1:8081/pub/x.rpm');

    expect(await redirectRefusal(new URL('https://internal.example/x.rpm'), localOrigin, dns)).toBeUndefined();
    expect(await redirectRefusal(new URL('http://127.0.0.1:9999/x.rpm'), localOrigin, dns)).toMatch(/only https/);
  });

  it('allows a handful of hops', () => {
    expect(MAX_ORIGIN_REDIRECTS).toBe(5);
  });
});

describe('fetchFromOrigin: a redirect off the origin connects to the address that was checked', () => {
  const tls = {
    key: readFileSync('__tests__/fixtures/tls/mirror.key', 'utf8'),
    cert: readFileSync('__tests__/fixtures/tls/mirror.crt', 'utf8'),
  };
  let origin: Server;
  let mirror: HttpsServer;
  let mirrorPort: number;

  beforeAll(async () => {
    mirror = createHttpsServer(tls, (request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' }).end(`mirror ${request.method} ${request.url}`);
    });
    await new Promise<void>((listening) => mirror.listen(0, '127.0.0.1', listening));
    mirrorPort = (mirror.address() as AddressInfo).port;
    // The origin (the local stack, so internal targets are allowed) sends every request to the mirror by name.
    origin = createServer((request, response) => {
      response.writeHead(302, { location: `https://mirror.test:${mirrorPort}${request.url}` }).end();
    });
    await new Promise<void>((listening) => origin.listen(0, '127.0.0.1', listening));
  });

  afterAll(async () => {
    mirror.closeAllConnections();
    origin.closeAllConnections();
    await Promise.all([new Promise((closed) => mirror.close(closed)), new Promise((closed) => origin.close(closed))]);
  });

  it('asks DNS once and connects to that answer, whatever a second lookup would say (rebinding)', async () => {
    const lookups: string[] = [];
    // The first answer passes the check; any later one points elsewhere (and mirror.test resolves nowhere else).
    const rebinding = async (hostname: string) => {
      lookups.push(hostname);
      return lookups.length === 1 ? ['127.0.0.1'] : ['10.66.66.66'];
    };
    const url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/pub/x.rpm`;

    for (const method of ['GET', 'HEAD'] as const) {
      lookups.length = 0;
      const answer = await fetchFromOrigin(url, {
        method,
        signal: AbortSignal.timeout(5000),
        resolve: rebinding,
        tls: { ca: tls.cert },
      });

      expect('response' in answer && answer.response.status).toBe(200);
      expect('response' in answer && answer.url).toBe(`https://mirror.test:${mirrorPort}/pub/x.rpm`);
      if (method === 'GET' && 'response' in answer) expect(await answer.response.text()).toBe('mirror GET /pub/x.rpm');
      expect(lookups).toEqual(['mirror.test']);
    }
  });

  it('still checks the certificate against the name, not the address', async () => {
    const url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/pub/x.rpm`;

    await expect(
      fetchFromOrigin(url, { method: 'GET', signal: AbortSignal.timeout(5000), resolve: async () => ['127.0.0.1'] }),
    ).rejects.toThrow();
  });
});
