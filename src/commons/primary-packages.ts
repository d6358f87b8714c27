/**
 * Every package a repository's primary.xml lists, read as it streams
 * (Fedora's is hundreds of MB decompressed): one `<package>` element at a
 * time, never the whole file. `rpm-cache mirror` warms them; the uploader's
 * mirroring queues them and its rescue learns what a lost file must be.
 */

/** One `<package>` of primary.xml: where it is, what it must be, and who it is. */
export interface PrimaryPackage {
  readonly name: string;
  /** Relative to the repository (`Packages/a/alpha-1.0-1.fc44.x86_64.rpm`). */
  readonly href: string;
  /** A Node hash name (`sha256`, `sha1`, ...). */
  readonly algorithm: string;
  /** Lowercase hex. */
  readonly checksum: string;
  readonly size?: number;
  readonly epoch?: string;
  readonly version?: string;
  readonly release?: string;
  readonly arch?: string;
  /** The source package's file name, from `<rpm:sourcerpm>` (`bash-5.2-1.fc44.src.rpm`). */
  readonly sourceRpm?: string;
  /** The location has an `xml:base`: the file is at another base URL, not in this repository. */
  readonly elsewhere?: true;
}

const PACKAGE = /<package type="rpm">([\s\S]*?)<\/package>/g;
const ENTITIES: Readonly<Record<string, string>> = {
  '&amp;': '&',
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&apos;': "'",
};
const xmlText = (text: string): string =>
  text.replace(/&(amp|lt|gt|quot|apos);/g, (entity) => ENTITIES[entity] ?? entity);

/**
 * The name, version and release a source RPM's file name gives
 * (`name-version-release.src.rpm`; a name may hold dashes, version and
 * release hold none), or undefined when it is not one.
 */
export const sourceRpmIdentity = (
  sourceRpm: string,
): { readonly name: string; readonly version: string; readonly release: string } | undefined => {
  const match = /^(.+)-([^-]+)-([^-]+)\.(?:no)?src\.rpm$/.exec(sourceRpm);
  if (match === null) return undefined;
  const [, name = '', version = '', release = ''] = match;
  return { name, version, release };
};

const attribute = (element: string | undefined, name: string): string | undefined => {
  const value = element === undefined ? undefined : new RegExp(`\\s${name}="([^"]*)"`).exec(element)?.[1];
  return value === undefined ? undefined : xmlText(value);
};

/** The package in one `<package>` element's text, or undefined when it lacks a location or checksum. */
const packageOf = (element: string): PrimaryPackage | undefined => {
  const name = /<name>([^<]*)<\/name>/.exec(element)?.[1];
  const location = /<location\s[^>]*>/.exec(element)?.[0];
  const href = attribute(location, 'href');
  const checksum = /<checksum type="([a-z0-9]+)"[^>]*>([0-9a-fA-F]+)<\/checksum>/.exec(element);
  const size = /<size package="(\d+)"/.exec(element)?.[1];
  if (name === undefined || href === undefined || checksum === null) return undefined;
  const [, algorithm = '', hex = ''] = checksum;
  const version = /<version\s[^>]*>/.exec(element)?.[0];
  const arch = /<arch>([^<]*)<\/arch>/.exec(element)?.[1];
  const sourceRpm = /<rpm:sourcerpm>([^<]*)<\/rpm:sourcerpm>/.exec(element)?.[1];
  const facts = {
    epoch: attribute(version, 'epoch'),
    version: attribute(version, 'ver'),
    release: attribute(version, 'rel'),
    arch: arch === undefined ? undefined : xmlText(arch),
    sourceRpm: sourceRpm === undefined ? undefined : xmlText(sourceRpm),
  };
  return {
    name: xmlText(name),
    href,
    ...(location !== undefined && /\sxml:base="/.test(location) ? { elsewhere: true as const } : {}),
    algorithm: algorithm === 'sha' ? 'sha1' : algorithm,
    checksum: hex.toLowerCase(),
    ...(size === undefined ? {} : { size: Number(size) }),
    ...Object.fromEntries(Object.entries(facts).filter(([, value]) => value !== undefined)),
  };
};

/** Every package of primary.xml's text, in order, one element at a time. */
export async function* primaryPackages(text: AsyncIterable<string>): AsyncGenerator<PrimaryPackage> {
  let pending = '';
  for await (const chunk of text) {
    pending += chunk;
    let consumed = 0;
    for (const match of pending.matchAll(PACKAGE)) {
      const found = packageOf(match[1] ?? '');
      if (found !== undefined) yield found;
      consumed = (match.index ?? 0) + match[0].length;
    }
    pending = pending.slice(consumed);
  }
}

/** The package of primary.xml's text whose location is `href` in this repository (no `xml:base`), or undefined. */
export const primaryPackageAt = async (
  text: AsyncIterable<string>,
  href: string,
): Promise<PrimaryPackage | undefined> => {
  for await (const found of primaryPackages(text)) if (found.href === href && found.elsewhere !== true) return found;
  return undefined;
};
