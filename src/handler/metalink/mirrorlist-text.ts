/**
 * A mirror list (`mirrorlist=`): plain text, one repository base URL a line,
 * `#` lines comments (mirrormanager's first line says which repo, arch and
 * country it answered for). librepo takes every other non-empty line as a
 * base URL. There is no hash to vouch for anything: whatever repomd.xml a
 * listed mirror serves is taken.
 */

/** What a mirror list says: its comment lines and base URLs, in order. */
export interface Mirrorlist {
  readonly comments: readonly string[];
  readonly urls: readonly string[];
}

/** Reads a mirror list; every line that is neither blank nor a comment is a base URL. */
export const parseMirrorlist = (text: string): Mirrorlist => {
  const lines = text.split(/\r?\n/).map((line) => line.trim());
  return {
    comments: lines.filter((line) => line.startsWith('#')),
    urls: lines.filter((line) => line !== '' && !line.startsWith('#')),
  };
};

/** A mirror list with `comments` first, then `urls`. */
export const writeMirrorlist = ({ comments, urls }: Mirrorlist): string => `${[...comments, ...urls].join('\n')}\n`;
