import { MAX_ORIGIN_REDIRECTS, redirectRefusal } from '../../src/commons/origin-fetch.js';

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

describe('redirectRefusal: where a redirect from the origin may lead', () => {
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
