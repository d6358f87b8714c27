import { createHash } from 'node:crypto';

export interface RepositoryOptions {
  /** createrepo_c's `--simple-md-filenames`: listed files without their checksum in the name. */
  readonly simpleNames?: boolean;
  /** Bytes of repomd.xml's detached signature, served beside it. */
  readonly signature?: Buffer;
  /** A `<revision>`, so two versions of the same files differ. */
  readonly revision?: string;
  /** What the listed files' names end with (`xml.gz` unless told): how they are compressed. */
  readonly extension?: string;
  /** The `<timestamp>` of every listed file (none unless told). */
  readonly timestamp?: number;
}

/**
 * A repository's metadata as a mirror serves it, without rpm tools: the
 * listed files (name → bytes) and a repomd.xml giving each one's size and
 * SHA-256, keyed by path under `repoDir`. (The end-to-end tests use real
 * createrepo_c output.)
 */
export const repository = (
  repoDir: string,
  listed: Readonly<Record<string, Buffer>>,
  { simpleNames = false, signature, revision = '1', extension = 'xml.gz', timestamp }: RepositoryOptions = {},
): Map<string, Buffer> => {
  const files = new Map<string, Buffer>();
  const entries = Object.entries(listed).map(([type, bytes]) => {
    const checksum = createHash('sha256').update(bytes).digest('hex');
    const href = `repodata/${simpleNames ? '' : `${checksum}-`}${type}.${extension}`;
    files.set(`${repoDir}${href}`, bytes);
    return [
      `  <data type="${type}">`,
      `    <checksum type="sha256">${checksum}</checksum>`,
      `    <location href="${href}"/>`,
      `    <size>${bytes.length}</size>`,
      ...(timestamp === undefined ? [] : [`    <timestamp>${timestamp}</timestamp>`]),
      '  </data>',
    ].join('\n');
  });
  const repomd = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">',
    `  <revision>${revision}</revision>`,
    ...entries,
    '</repomd>',
    '',
  ].join('\n');
  files.set(`${repoDir}repodata/repomd.xml`, Buffer.from(repomd));
  if (signature !== undefined) files.set(`${repoDir}repodata/repomd.xml.asc`, signature);
  return files;
};
