/**
 * Requests to the origin, for the handler's HEAD and the uploader's GET alike:
 * uncompressed (the bytes counted and stored are the bytes a client gets) and
 * following redirects only where a mirror may send us. A redirect is followed
 * when it stays on the origin's own scheme and host, or goes to https on a
 * public address; never more than MAX_ORIGIN_REDIRECTS hops, and never to a
 * loopback, private, link-local or otherwise internal address (NAT64, Teredo and
 * 6to4 forms included) unless the origin itself is one.
 */
import { createRequire } from 'node:module';
import type { BlockList, LookupFunction } from 'node:net';

/**
 * node:net, loaded at the first request rather than at init (~1.6 ms of the
 * uploader's cold start; the first request to the origin loads it anyway).
 */
let net: typeof import('node:net') | undefined;
const loadNet = (): typeof import('node:net') => {
  net ??= createRequire(import.meta.url)('node:net') as typeof import('node:net');
  return net;
};
const isIP = (input: string): number => loadNet().isIP(input);

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
  const list = new (loadNet().BlockList)();
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
    // NAT64, well-known and local-use (RFC 8215): they carry an IPv4 address of any kind.
    ['64:ff9b::', 96],
    ['64:ff9b:1::', 48],
    // Teredo (an IPv4 server and client inside), 6to4.
    ['2001::', 32],
    ['2002::', 16],
    ['fc00::', 7],
    ['fe80::', 10],
    // Site-local (deprecated, RFC 3879, yet still routed inside some networks).
    ['fec0::', 10],
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

/** The addresses `url`'s host stands for: itself when it is an address, else what it resolves to (none: unresolved). */
const addressesOf = async (url: URL, resolve: AddressLookup): Promise<readonly string[]> => {
  const host = bareHost(url);
  return isIP(host) === 0 ? resolve(host).catch(() => []) : [host];
};

const isInternalAddress = (address: string): boolean => {
  const blocked = internalAddresses();
  // An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is judged as the IPv4 address it carries.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped !== undefined) return blocked.check(mapped, 'ipv4');
  return blocked.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
};

const isLocalhostName = (url: URL): boolean => {
  const host = bareHost(url);
  return host === 'localhost' || host.endsWith('.localhost');
};

/** Whether the origin itself is internal (the local stack): then it may send us to internal hosts. */
const isInternalOrigin = async (origin: URL, resolve: AddressLookup): Promise<boolean> =>
  isLocalhostName(origin) || (await addressesOf(origin, resolve)).some(isInternalAddress);

/**
 * Where a redirect from the origin to `target` may go: refused (and why), or
 * followed, on the origin's own host as the origin is, and elsewhere only to
 * the addresses that were checked (`pinnedTo`): the hop connects to those,
 * never to what a second lookup of the name might answer.
 */
export type RedirectDecision =
  | { readonly refusal: string }
  | { readonly pinnedTo?: readonly string[]; readonly refusal?: undefined };

export const redirectDecision = async (
  target: URL,
  origin: URL,
  resolve: AddressLookup = lookupAll,
): Promise<RedirectDecision> => {
  // Before anything is sent, even on the origin's own host: credentials would go out with the request.
  if (target.username !== '' || target.password !== '') return { refusal: 'redirect with credentials refused' };
  if (target.protocol === origin.protocol && target.host === origin.host) return {};
  if (target.protocol !== 'https:') {
    return { refusal: `redirect to ${target.protocol}//${target.host} refused: only https leaves the origin's host` };
  }
  const internalRefusal = {
    refusal: `redirect to ${target.host} refused: an internal (loopback, private, link-local, reserved) or unresolvable address`,
  };
  const addresses = isLocalhostName(target) ? ['127.0.0.1', '::1'] : await addressesOf(target, resolve);
  // A name that does not resolve never passes (fail closed).
  if (addresses.length === 0) return internalRefusal;
  // Only an origin that really is internal (the local stack) may send us to internal hosts.
  if (addresses.some(isInternalAddress) && !(await isInternalOrigin(origin, resolve))) return internalRefusal;
  return isIP(bareHost(target)) === 0 ? { pinnedTo: addresses } : {};
};

/**
 * A connection pool whose every connection goes to `addresses` (TLS still
 * checks the certificate against the URL's host name). undici, Node's own
 * fetch, is loaded with the first redirect that leaves the origin.
 */
const pinnedDispatcher = async (addresses: readonly string[], tls: PinnedTls | undefined) => {
  const { Agent } = await import('undici');
  const lookup = pinnedLookup(addresses);
  return new Agent({ connect: { lookup, ...(tls?.ca === undefined ? {} : { ca: tls.ca }) } });
};

/** A DNS lookup that answers only `addresses`, whatever the name: a connection goes to the checked addresses. */
export const pinnedLookup = (addresses: readonly string[]): LookupFunction => {
  const entries = addresses.map((address) => ({ address, family: isIP(address) }));
  return (_hostname, options, callback) => {
    const [first] = entries;
    if (options.all === true) callback(null, entries);
    else if (first === undefined) callback(new Error('no checked address'), '', 0);
    else callback(null, first.address, first.family);
  };
};

/** Certificates to trust on pinned connections besides the system's (tests: a local TLS mirror). */
export interface PinnedTls {
  readonly ca?: string;
}

export interface OriginFetchOptions {
  readonly method: 'HEAD' | 'GET';
  readonly signal: AbortSignal;
  readonly resolve?: AddressLookup;
  readonly tls?: PinnedTls;
}

export type OriginFetchResult =
  /** The final answer, and the URL that gave it. */
  | { readonly response: Response; readonly url: string }
  /** A redirect the policy does not follow: its status and why. */
  | { readonly refusedRedirect: { readonly status: number; readonly reason: string } };

/** One hop's answer, as the redirect policy reads it. */
export interface HopAnswer {
  readonly status: number;
  /** The `Location` header, or null. */
  readonly location: string | null;
  /** Lets go of an answer that is not the final one (its body, its connection). */
  discard(): Promise<void>;
}

/** Sends one request to `url`; `pinnedTo`: the only addresses it may connect to (a hop off the origin). */
export type SendHop<A extends HopAnswer> = (url: URL, pinnedTo: readonly string[] | undefined) => Promise<A>;

export type FollowedAnswer<A extends HopAnswer> =
  | { readonly answer: A; readonly url: string }
  | { readonly refusedRedirect: { readonly status: number; readonly reason: string } };

/**
 * Sends `url` with `send`, following redirects by the policy above, whatever
 * client sends each hop. Network errors and aborts are thrown.
 */
export const followRedirects = async <A extends HopAnswer>(
  url: string,
  send: SendHop<A>,
  resolve?: AddressLookup,
): Promise<FollowedAnswer<A>> => {
  const origin = new URL(url);
  let current = origin;
  let pinnedTo: readonly string[] | undefined;
  for (let hop = 0; ; hop += 1) {
    const answer = await send(current, pinnedTo);
    const { location, status } = answer;
    if (!REDIRECT_STATUSES.has(status) || location === null) return { answer, url: current.href };
    await answer.discard();
    if (hop === MAX_ORIGIN_REDIRECTS) {
      return { refusedRedirect: { status, reason: `more than ${MAX_ORIGIN_REDIRECTS} redirects` } };
    }
    let target: URL;
    try {
      target = new URL(location, current);
    } catch {
      return { refusedRedirect: { status, reason: 'redirect to an invalid URL' } };
    }
    const decision = await redirectDecision(target, origin, resolve);
    if (decision.refusal !== undefined) return { refusedRedirect: { status, reason: decision.refusal } };
    current = target;
    pinnedTo = decision.pinnedTo;
  }
};

/**
 * Fetches `url` from the origin, asking for identity encoding and following
 * redirects by the policy above. Network errors and aborts are thrown.
 */
export const fetchFromOrigin = async (url: string, options: OriginFetchOptions): Promise<OriginFetchResult> => {
  const send: SendHop<HopAnswer & { readonly response: Response }> = async (current, pinnedTo) => {
    const dispatcher = pinnedTo === undefined ? undefined : await pinnedDispatcher(pinnedTo, options.tls);
    try {
      const response = await fetch(current, {
        method: options.method,
        redirect: 'manual',
        signal: options.signal,
        headers: { 'accept-encoding': 'identity' },
        ...(dispatcher === undefined ? {} : { dispatcher }),
      });
      return {
        response,
        status: response.status,
        location: response.headers.get('location'),
        discard: async () => {
          await response.body?.cancel();
        },
      };
    } finally {
      // Closes once the response (and its body) is done with: nothing else uses the pool.
      dispatcher?.close().catch(() => undefined);
    }
  };
  const followed = await followRedirects(url, send, options.resolve);
  return 'refusedRedirect' in followed ? followed : { response: followed.answer.response, url: followed.url };
};
