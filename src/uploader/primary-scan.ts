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

/**
 * The entry whose `<location href>` is `href` (a path relative to the
 * repository), or undefined when primary.xml does not list it. Stops reading
 * at the entry. Text that cannot be primary.xml throws PrimaryScanError.
 */
export const findInPrimary = async (
  xml: AsyncIterable<Buffer | Uint8Array>,
  href: string,
): Promise<PrimaryEntry | undefined> => {
  const needle = `href="${xmlAttribute(href)}"`;
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of xml) {
    pending += decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    const lastEnd = pending.lastIndexOf(PACKAGE_END);
    if (lastEnd < 0) {
      if (pending.length > MAX_PACKAGE_ENTRY_CHARS) {
        throw new PrimaryScanError(`no ${PACKAGE_END} in ${MAX_PACKAGE_ENTRY_CHARS} characters`);
      }
      continue;
    }
    // Whole entries only: the location and the checksum before it are in the same one.
    const complete = pending.slice(0, lastEnd);
    for (let at = complete.indexOf(needle); at >= 0; at = complete.indexOf(needle, at + 1)) {
      const previousEnd = complete.lastIndexOf(PACKAGE_END, at);
      const entry = complete.slice(previousEnd < 0 ? 0 : previousEnd + PACKAGE_END.length, at);
      const location = entry.lastIndexOf('<location');
      const attributesBefore = location < 0 ? '>' : entry.slice(location);
      // The href of the entry's own <location>; one with xml:base names a file elsewhere, not this one.
      if (!attributesBefore.includes('>') && !attributesBefore.includes('xml:base')) {
        return entryOf(entry.slice(0, location), href);
      }
    }
    pending = pending.slice(lastEnd + PACKAGE_END.length);
  }
  return undefined;
};
