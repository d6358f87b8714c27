/**
 * A port to suggest when PORT is taken: one this machine really lets us bind
 * now, and not one the configured origins use (the README's demo runs its
 * origin on 8081, so "8080 is taken: use 8081" sent people into a second
 * clash).
 */
import { createServer } from 'node:net';
import { type Environment, parseOriginHost, parseOrigins } from '../commons/config.js';

/** How many ports after the taken one are tried before asking the system for any free one. */
const PROBED_AFTER = 20;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1', '0.0.0.0']);

/** Whether `port` can be bound on `host` at this moment (the probe's socket is closed again at once). */
const bindable = (host: string, port: number): Promise<number | undefined> =>
  new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(undefined));
    probe.listen({ host, port, exclusive: true }, () => {
      const address = probe.address();
      const bound = typeof address === 'object' && address !== null ? address.port : undefined;
      probe.close(() => resolve(bound));
    });
  });

/** A variable's URLs as the stack reads them; none when it is unset or does not parse (no port to avoid then). */
const urlsOf = (value: string | undefined, parse: (value: string) => readonly string[]): readonly string[] => {
  if (value === undefined || value.trim() === '') return [];
  try {
    return parse(value.trim());
  } catch {
    return [];
  }
};

/**
 * Ports of local origins (ORIGIN_HOST and every ORIGINS URL on this machine),
 * read by the stack's own parsers: an origin the user is about to start may
 * not listen yet, so a probe alone would find its port free.
 */
export const localOriginPorts = (env: Environment): Set<number> => {
  const urls = [
    ...urlsOf(env.ORIGIN_HOST, (value) => [parseOriginHost(value)]),
    ...urlsOf(env.ORIGINS, (value) => parseOrigins(value).flatMap((origin) => origin.urls)),
  ];
  const ports = new Set<number>();
  for (const url of urls.map((text) => new URL(text))) {
    if (url.port !== '' && LOOPBACK_HOSTS.has(url.hostname)) ports.add(Number(url.port));
  }
  return ports;
};

/**
 * A free port to suggest instead of `taken` on `host`: the first of the
 * next few that binds and no local origin uses, else any the system gives
 * (port 0); undefined when nothing binds on that host at all.
 */
export const suggestFreePort = async (
  host: string,
  taken: number,
  avoid: ReadonlySet<number>,
): Promise<number | undefined> => {
  for (let port = taken + 1; port <= Math.min(taken + PROBED_AFTER, 65_535); port += 1) {
    if (avoid.has(port)) continue;
    if ((await bindable(host, port)) !== undefined) return port;
  }
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const port = await bindable(host, 0);
    if (port !== undefined && !avoid.has(port)) return port;
  }
  return undefined;
};
