/**
 * `rpm-cache rewrite`: a lockfile whose package and source URLs point at the
 * cache (`<cache>/<name>/<rest>`, `<cache>/<rest>` under the origin host), for
 * tools with no proxy setting for RPMs (hermeto). Only the URL values change:
 * each is replaced where it stands in the text, so every other field, the
 * order, the comments and the formatting stay byte for byte.
 */
import { isMap, isScalar, isSeq, parseDocument, Scalar } from 'yaml';
import { LockfileError, parseLockfile } from './lockfile.js';
import { cachePathFor, type OriginMatcher } from './origin-match.js';

export interface RewriteOptions {
  /** The cache's base URL, without a trailing slash. */
  readonly cacheUrl: string;
  readonly origins: OriginMatcher;
}

export interface RewrittenLockfile {
  readonly text: string;
  /** URLs turned into cache URLs. */
  readonly rewritten: number;
  /** URLs under none of the origins, left as they are. */
  readonly unmatched: readonly string[];
  /** URLs that point at the cache already (a rewritten lockfile). */
  readonly atCache: number;
}

/** A scalar's new source text, quoted the way the old one was. */
const asWritten = (type: Scalar['type'], value: string): string => {
  if (type === Scalar.QUOTE_DOUBLE) return JSON.stringify(value);
  if (type === Scalar.QUOTE_SINGLE) return `'${value.replaceAll("'", "''")}'`;
  return value;
};

/** Rewrites the text of one lockfile (`file` names it in errors); a lockfile already rewritten comes back unchanged. */
export const rewriteLockfile = (
  text: string,
  file: string,
  { cacheUrl, origins }: RewriteOptions,
): RewrittenLockfile => {
  // The same checks as warm: a lockfile it would refuse is refused here too.
  parseLockfile(text, file);
  const document = parseDocument(text, { keepSourceTokens: true });
  const edits: { start: number; end: number; text: string }[] = [];
  const unmatched: string[] = [];
  let atCache = 0;
  const arches = document.get('arches', true);
  for (const arch of isSeq(arches) ? arches.items : []) {
    if (!isMap(arch)) continue;
    for (const list of ['packages', 'source']) {
      const entries = arch.get(list, true);
      for (const entry of isSeq(entries) ? entries.items : []) {
        const node = isMap(entry) ? entry.get('url', true) : undefined;
        if (!isScalar(node) || typeof node.value !== 'string' || node.range === undefined || node.range === null)
          continue;
        const url = node.value;
        if (url.startsWith(`${cacheUrl}/`)) {
          atCache += 1;
          continue;
        }
        const parsed = new URL(url);
        const path = cachePathFor(parsed, origins);
        if (path === undefined) {
          unmatched.push(url);
          continue;
        }
        if (node.type === Scalar.BLOCK_FOLDED || node.type === Scalar.BLOCK_LITERAL) {
          throw new LockfileError(`${file}: the url ${url} is a block scalar; write it on one line`);
        }
        const [start, end] = node.range;
        // A query (a mirror's token) and a fragment go with the URL: the cache passes the query on to the origin.
        edits.push({ start, end, text: asWritten(node.type, `${cacheUrl}/${path}${parsed.search}${parsed.hash}`) });
      }
    }
  }
  let rewritten = text;
  for (const edit of edits.sort((a, b) => b.start - a.start)) {
    rewritten = `${rewritten.slice(0, edit.start)}${edit.text}${rewritten.slice(edit.end)}`;
  }
  return { text: rewritten, rewritten: edits.length, unmatched, atCache };
};
