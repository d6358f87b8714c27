/**
 * Finds one package in a repository's primary.xml: the checksum and size dnf
 * checks a download against.
 *
 * primary.xml is large (Fedora's Everything: hundreds of MB once
 * decompressed) and is read once per uploaded RPM, while the upload streams,
 * so it is searched as text, one `<package>` at a time, never parsed whole:
 * the location attribute the RPM must have is one exact string, and a native
 * `indexOf` finds it at memory speed where a JavaScript XML parser would take
 * seconds. The file is createrepo_c's (libxml2's) output, whose shape is fixed:
 * `<package type="rpm">`, then `<checksum type=".." pkgid="YES">hex</checksum>`,
 * `<size package="N" .../>`, `<location href=".."/>`, in that order.
 */
import { StringDecoder } from 'node:string_decoder';
import { ALGORITHMS } from './repomd.js';

/** What primary.xml says about one package. */
export interface PrimaryEntry {
  /** A Node hash name (`sha256`, ...). */
  readonly algorithm: string;
  /** Lowercase hex. */
  readonly checksum: string;
  /** The package's size in bytes, when given. */
  readonly size?: number;
}

export class PrimaryScanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrimaryScanError';
  }
}

const PACKAGE_END = '</package>';

/** Far more than any package's entry (its description and file list): beyond it, the text is not primary.xml. */
export const MAX_PACKAGE_ENTRY_CHARS = 16 * 1024 * 1024;

/** An attribute value as libxml2 writes it. */
const xmlAttribute = (value: string): string =>
  value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

const CHECKSUM = /<checksum\s+type="([^"]+)"[^>]*>\s*([0-9A-Fa-f]+)\s*<\/checksum>/g;
const SIZE = /<size\s+[^>]*\bpackage="(\d{1,15})"/;

/** The entry of one `<package>`, from its text up to its `<location`. */
const entryOf = (entry: string, href: string): PrimaryEntry => {
  const checksums = [...entry.matchAll(CHECKSUM)];
  const [checksum] = checksums;
  if (checksum === undefined || checksums.length !== 1) {
    throw new PrimaryScanError(`the entry of ${href} has ${checksums.length} checksums, not one`);
  }
  const [, type = '', hex = ''] = checksum;
  const algorithm = ALGORITHMS[type.toLowerCase()];
  if (algorithm === undefined) throw new PrimaryScanError(`the entry of ${href} has a checksum of type ${type}`);
  const size = SIZE.exec(entry)?.[1];
  return { algorithm, checksum: hex.toLowerCase(), ...(size === undefined ? {} : { size: Number(size) }) };
};

/** CDATA sections and comments: text a client never reads as elements (a description may quote anything). */
const NOT_MARKUP = /<!\[CDATA\[[\s\S]*?\]\]>|<!--[\s\S]*?-->/g;
const LOCATION_TAG = /<location\b([^>]*)>/g;
const ATTRIBUTE = /([\w:.-]+)\s*=\s*"([^"]*)"/g;

/**
 * The entry of one `<package>` when its own `<location>` element is `href`
 * (escaped as libxml2 writes it) with no `xml:base` (a file elsewhere, not this
 * repository's); undefined otherwise. Only markup counts: the same text in a
 * description's CDATA or a comment is no location.
 */
const entryAt = (entry: string, escapedHref: string, href: string): PrimaryEntry | undefined => {
  const markup = entry.replace(NOT_MARKUP, '');
  for (const tag of markup.matchAll(LOCATION_TAG)) {
    const attributes = new Map(
      [...(tag[1] ?? '').matchAll(ATTRIBUTE)].map(([, name = '', value = '']) => [name, value]),
    );
    if (attributes.get('href') !== escapedHref || attributes.has('xml:base')) continue;
    return entryOf(markup.slice(0, tag.index), href);
  }
  return undefined;
};

/**
 * The entry whose `<location href>` is `href` (a path relative to the
 * repository), or undefined when primary.xml does not list it. Stops reading
 * at the entry. Text that cannot be primary.xml throws PrimaryScanError.
 * Each character is searched for the end of an entry once, however the
 * stream cuts the text: an entry of millions of characters in small chunks
 * costs what it costs in one.
 */
export const findInPrimary = async (
  xml: AsyncIterable<Buffer | Uint8Array>,
  href: string,
): Promise<PrimaryEntry | undefined> => {
  const escapedHref = xmlAttribute(href);
  const needle = `href="${escapedHref}"`;
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of xml) {
    // An end of entry may straddle the chunks: look again only at its possible start in the old text.
    const newFrom = Math.max(0, pending.length - (PACKAGE_END.length - 1));
    pending += decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if (pending.indexOf(PACKAGE_END, newFrom) < 0) {
      if (pending.length > MAX_PACKAGE_ENTRY_CHARS) {
        throw new PrimaryScanError(`no ${PACKAGE_END} in ${MAX_PACKAGE_ENTRY_CHARS} characters`);
      }
      continue;
    }
    // An end lies in the new text: searching back from the end stops there at the latest.
    const lastEnd = pending.lastIndexOf(PACKAGE_END);
    // Whole entries only: the location and the checksum before it are in the same one.
    const complete = pending.slice(0, lastEnd);
    for (let at = complete.indexOf(needle); at >= 0; at = complete.indexOf(needle, at + 1)) {
      const previousEnd = complete.lastIndexOf(PACKAGE_END, at);
      const entryStart = previousEnd < 0 ? 0 : previousEnd + PACKAGE_END.length;
      const entryEnd = complete.indexOf(PACKAGE_END, at);
      const found = entryAt(complete.slice(entryStart, entryEnd < 0 ? complete.length : entryEnd), escapedHref, href);
      if (found !== undefined) return found;
    }
    pending = pending.slice(lastEnd + PACKAGE_END.length);
  }
  return undefined;
};
