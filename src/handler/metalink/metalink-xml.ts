/**
 * The metalink a mirror manager (Fedora's mirrormanager2) answers for a
 * repository, read and written in the one shape librepo understands: a
 * `<file name="repomd.xml">` with the hashes of the repository's newest
 * repomd.xml, `<mm0:alternates>` holding the hashes of recent older ones, and
 * `<resources>` listing `<url>`s that end in `repodata/repomd.xml`.
 *
 * librepo (metalink.c) matches element names with their prefix, literally
 * (`mm0:timestamp`, `mm0:alternates`): what is written here uses mirrormanager's
 * own prefix, whatever the upstream document called its namespace. It reads
 * `size` and `mm0:timestamp` but checks neither (yum.c gives the download no
 * expected size): a repomd.xml is accepted when its hash is the file's or one
 * of the alternates' (the best type each of them gives, sha512 over sha256).
 */
import { lazyXmlParser } from '../../commons/lazy-xml-parser.js';

/** One `<hash type="...">`. */
export interface MetalinkHash {
  readonly type: string;
  /** Hex, as the document gives it. */
  readonly value: string;
}

/** One version of repomd.xml a metalink vouches for: the newest, or an alternate. */
export interface RepomdVersion {
  /** `<mm0:timestamp>`, digits as given. */
  readonly timestamp?: string;
  /** `<size>`, digits as given. */
  readonly size?: string;
  readonly hashes: readonly MetalinkHash[];
}

/** One `<url>`: a mirror's repomd.xml. */
export interface MetalinkUrl {
  readonly url: string;
  readonly protocol?: string;
  readonly type?: string;
  readonly location?: string;
  /** 0 to 100, higher first. */
  readonly preference?: number;
}

/** What a metalink says about repomd.xml. */
export interface RepomdMetalink {
  readonly pubdate?: string;
  readonly generator?: string;
  readonly newest: RepomdVersion;
  readonly alternates: readonly RepomdVersion[];
  readonly urls: readonly MetalinkUrl[];
}

/** Far more than a metalink's few dozen KB: beyond it the answer is not read as one. */
export const MAX_METALINK_BYTES = 1024 * 1024;

/** Loaded with the first metalink: most handler containers never answer one. */
const loadParser = lazyXmlParser(['file', 'hash', 'alternate', 'url']);

type XmlNode = Record<string, unknown>;

const isNode = (value: unknown): value is XmlNode =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const textOf = (value: unknown): string | undefined => {
  if (typeof value === 'string') return value.trim();
  if (isNode(value) && typeof value['#text'] === 'string') return value['#text'].trim();
  return undefined;
};

const attribute = (node: unknown, name: string): string | undefined => {
  if (!isNode(node)) return undefined;
  const value = node[`@_${name}`];
  return typeof value === 'string' ? value : undefined;
};

const listOf = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

const digits = (value: unknown): string | undefined => {
  const text = textOf(value);
  return text !== undefined && /^\d+$/.test(text) ? text : undefined;
};

const hashesOf = (verification: unknown): MetalinkHash[] =>
  listOf(isNode(verification) ? verification.hash : undefined).flatMap((hash) => {
    const type = attribute(hash, 'type')?.trim().toLowerCase();
    const value = textOf(hash);
    return type !== undefined && value !== undefined && /^[0-9a-fA-F]+$/.test(value) ? [{ type, value }] : [];
  });

const versionOf = (node: XmlNode): RepomdVersion => {
  const timestamp = digits(node.timestamp);
  const size = digits(node.size);
  return {
    ...(timestamp === undefined ? {} : { timestamp }),
    ...(size === undefined ? {} : { size }),
    hashes: hashesOf(node.verification),
  };
};

const urlOf = (node: unknown): MetalinkUrl[] => {
  const url = textOf(node);
  if (url === undefined || url === '') return [];
  const protocol = attribute(node, 'protocol');
  const type = attribute(node, 'type');
  const location = attribute(node, 'location');
  const preference = Number(attribute(node, 'preference'));
  return [
    {
      url,
      ...(protocol === undefined ? {} : { protocol }),
      ...(type === undefined ? {} : { type }),
      ...(location === undefined ? {} : { location }),
      ...(Number.isInteger(preference) && preference >= 0 && preference <= 100 ? { preference } : {}),
    },
  ];
};

/**
 * What `text` says about repomd.xml, or undefined when it is not a metalink
 * holding a `<file name="repomd.xml">` with at least one hash (a mirror
 * manager's error page, an HTML page, a document with a DOCTYPE: none of
 * them is rewritten).
 */
export const parseMetalink = async (text: string): Promise<RepomdMetalink | undefined> => {
  // Metalinks have no DOCTYPE; one would bring entity definitions the answer has no use for.
  if (/<!DOCTYPE/i.test(text)) return undefined;
  let document: unknown;
  try {
    document = (await loadParser()).parse(text);
  } catch {
    return undefined;
  }
  const metalink = isNode(document) ? document.metalink : undefined;
  if (!isNode(metalink)) return undefined;
  const files = isNode(metalink.files) ? metalink.files.file : undefined;
  const file = listOf(files).find((entry) => attribute(entry, 'name') === 'repomd.xml');
  if (!isNode(file)) return undefined;
  const newest = versionOf(file);
  if (newest.hashes.length === 0) return undefined;
  const alternates = listOf(isNode(file.alternates) ? file.alternates.alternate : undefined)
    .filter(isNode)
    .map(versionOf)
    .filter((version) => version.hashes.length > 0);
  const urls = listOf(isNode(file.resources) ? file.resources.url : undefined).flatMap(urlOf);
  const pubdate = attribute(metalink, 'pubdate');
  const generator = attribute(metalink, 'generator');
  return {
    ...(pubdate === undefined ? {} : { pubdate }),
    ...(generator === undefined ? {} : { generator }),
    newest,
    alternates,
    urls,
  };
};

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};
const escapeXml = (text: string): string => text.replace(/[&<>"']/g, (character) => ESCAPES[character] ?? character);

const attributes = (values: Readonly<Record<string, string | number | undefined>>): string =>
  Object.entries(values)
    .flatMap(([name, value]) => (value === undefined ? [] : [` ${name}="${escapeXml(String(value))}"`]))
    .join('');

const versionXml = (version: RepomdVersion, indent: string): string[] => [
  ...(version.timestamp === undefined ? [] : [`${indent}<mm0:timestamp>${version.timestamp}</mm0:timestamp>`]),
  ...(version.size === undefined ? [] : [`${indent}<size>${version.size}</size>`]),
  `${indent}<verification>`,
  ...version.hashes.map((hash) => `${indent}  <hash${attributes({ type: hash.type })}>${escapeXml(hash.value)}</hash>`),
  `${indent}</verification>`,
];

/** A metalink in mirrormanager's format for `metalink`, as librepo reads it. */
export const writeMetalink = (metalink: RepomdMetalink): string =>
  [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<metalink version="3.0" xmlns="http://www.metalinker.org/" type="dynamic"${attributes({
      pubdate: metalink.pubdate,
      generator: metalink.generator,
    })} xmlns:mm0="http://fedorahosted.org/mirrormanager">`,
    '  <files>',
    '    <file name="repomd.xml">',
    ...versionXml(metalink.newest, '      '),
    ...(metalink.alternates.length === 0
      ? []
      : [
          '      <mm0:alternates>',
          ...metalink.alternates.flatMap((alternate) => [
            '        <mm0:alternate>',
            ...versionXml(alternate, '          '),
            '        </mm0:alternate>',
          ]),
          '      </mm0:alternates>',
        ]),
    '      <resources maxconnections="1">',
    ...metalink.urls.map(
      ({ url, protocol, type, location, preference }) =>
        `        <url${attributes({ protocol, type, location, preference })}>${escapeXml(url)}</url>`,
    ),
    '      </resources>',
    '    </file>',
    '  </files>',
    '</metalink>',
    '',
  ].join('\n');
