/**
 * Requests to the origin, for the handler's HEAD and the uploader's GET alike:
 * uncompressed (the bytes counted and stored are the bytes a client gets) and
 * following redirects only where a mirror may send us. A redirect is followed
 * when it stays on the origin's own scheme and host, or goes to https on a
 * public address; never more than MAX_ORIGIN_REDIRECTS hops, and never to a
 * loopback, private or link-local address unless the origin itself is one.
 */
import { BlockList, isIP } from 'node:net';

export const MAX_ORIGIN_REDIRECTS = 5;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

let internal: BlockList | undefined;

/**
 * Addresses a mirror has no business sending us to: the host's own network and
 * the cloud metadata service. Built on the first redirect that leaves the
 * origin, not at every cold start, and once.
 */
const internalAddresses = (): BlockList => {
  if (internal !== undefined) return internal;
  const list = new BlockList();
  for (const [network, prefix] of [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15],
    // Multicast and reserved, up to and including the broadcast address.
    ['224.0.0.0', 3],
  ] as const) {
    list.addSubnet(network, prefix, 'ipv4');
  }
  for (const [network, prefix] of [
    // Unspecified, loopback and IPv4-compatible (::a.b.c.d).
    ['::', 96],
    ['64:ff9b::', 96],
    ['2002::', 16],
    ['fc00::', 7],
    ['fe80::', 10],
    ['ff00::', 8],
  ] as const) {
    list.addSubnet(network, prefix, 'ipv6');
  }
  internal = list;
  return list;
};

export type AddressLookup = (hostname: string) => Promise<readonly string[]>;

// Only redirects off the origin need DNS: loaded then, not at every cold start.
const lookupAll: AddressLookup = async (hostname) => {
  const { lookup } = await import('node:dns/promises');
  return (await lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);
};

const bareHost = (url: URL): string => url.hostname.replace(/^\[|\]$/g, '');

/**
 * Whether `url`'s host is, or resolves to, an internal address; `unresolved`
 * is the answer for a name that does not resolve (for a redirect target:
 * true, the check fails closed).
 */
const isInternal = async (url: URL, resolve: AddressLookup, unresolved: boolean): Promise<boolean> => {
  const host = bareHost(url);
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const family = isIP(host);
  const addresses = family === 0 ? await resolve(host).catch(() => []) : [host];
  if (addresses.length === 0) return unresolved;
  const blocked = internalAddresses();
  return addresses.some((address) => {
    // An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is judged as the IPv4 address it carries.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    if (mapped !== undefined) return blocked.check(mapped, 'ipv4');
    return blocked.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
  });
};

/** Why a redirect from the origin to `target` is not followed, or undefined when it may be. */
export const redirectRefusal = async (
  target: URL,
  origin: URL,
  resolve: AddressLookup = lookupAll,
): Promise<string | undefined> => {
  // Before anything is sent, even on the origin's own host: credentials would go out with the request.
  if (target.username !== '' || target.password !== '') return 'redirect with credentials refused';
  if (target.protocol === origin.protocol && target.host === origin.host) return undefined;
  if (target.protocol !== 'https:')
    return `redirect to ${target.protocol}//${target.host} refused: only https leaves the origin's host`;
  // Only an origin that really is internal (the local stack) may send us to internal hosts.
  if ((await isInternal(target, resolve, true)) && !(await isInternal(origin, resolve, false))) {
    return `redirect to ${target.host} refused: an internal (loopback, private, link-local, reserved) or unresolvable address`;
  }
  return undefined;
};

export interface OriginFetchOptions {
  readonly method: 'HEAD' | 'GET';
  readonly signal: AbortSignal;
  readonly resolve?: AddressLookup;
}

export type OriginFetchResult =
  /** The final answer, and the URL that gave it. */
  | { readonly response: Response; readonly url: string }
  /** A redirect the policy does not follow: its status and why. */
  | { readonly refusedRedirect: { readonly status: number; readonly reason: string } };

/**
 * Fetches `url` from the origin, asking for identity encoding and following
 * redirects by the policy above. Network errors and aborts are thrown.
 */
export const fetchFromOrigin = async (url: string, options: OriginFetchOptions): Promise<OriginFetchResult> => {
  const origin = new URL(url);
  let current = origin;
  for (let hop = 0; ; hop += 1) {
    const response = await fetch(current, {
      method: options.method,
      redirect: 'manual',
      signal: options.signal,
      headers: { 'accept-encoding': 'identity' },
    });
    const location = response.headers.get('location');
    if (!REDIRECT_STATUSES.has(response.status) || location === null) {
      return { response, url: current.href };
    }
    await response.body?.cancel();
    if (hop === MAX_ORIGIN_REDIRECTS) {
      return { refusedRedirect: { status: response.status, reason: `more than ${MAX_ORIGIN_REDIRECTS} redirects` } };
    }
    let target: URL;
    try {
      target = new URL(location, current);
    } catch {
      return { refusedRedirect: { status: response.status, reason: 'redirect to an invalid URL' } };
    }
    const refusal = await redirectRefusal(target, origin, options.resolve);
    if (refusal !== undefined) return { refusedRedirect: { status: response.status, reason: refusal } };
    current = target;
  }
};
