/**
 * Which snapshot serves a request for repository metadata, as one table.
 *
 * A client gets repomd.xml and the rest from one version. Its repomd.xml came
 * from the origin while the origin served one, so its companions and files
 * with fixed names (`--simple-md-filenames`) go to the origin too whenever
 * the origin's repomd.xml answers: only when it cannot (or the origin is
 * assumed offline) did the client get the snapshot's repomd.xml, and then the
 * rest comes from that same snapshot. A content-named file
 * (`<checksum>-primary.xml.gz`) is the same bytes in every version, so the
 * current snapshot or the one it superseded may serve it whenever the origin
 * cannot (a client mid-download while the snapshot changed).
 */

/** What the requested path is to its repository. */
export type RepodataRole = 'repomd' | 'companion' | 'listed-fixed' | 'listed-content';

/**
 * What the origin said. For repomd.xml, a companion or a fixed-name file, this
 * is about repomd.xml: it serves the snapshot's version (its validators
 * match), another version (or there is no snapshot), or nothing (an error
 * status, a timeout, no connection, assumed offline). For a content-named
 * file it is about the file itself: its name fixes its bytes, so 2xx is the
 * snapshot's version.
 */
export type OriginSays = 'serves-snapshot' | 'serves-other' | 'cannot-serve';

/** What the snapshot holds for the path: a stored copy, the knowledge that the origin had none, or nothing. */
export type Holding = 'stored' | 'absent' | 'none';

/**
 * The answer:
 * - `origin`: a 302 to the origin (`trigger`: a snapshot of the version it serves is taken);
 * - `snapshot`: a 302 to the snapshot's stored copy;
 * - `not-found`: a 404 (the snapshot knows the origin had no such file; a redirect to an origin that cannot
 *   serve would only make the client wait);
 * - `origin-or-mirror`: a 302 to the first mirror that has the file, else to the origin.
 */
export type ServingRule =
  | { readonly answer: 'origin'; readonly outcome: 'stored' | 'miss' | 'bypass'; readonly trigger?: true }
  | { readonly answer: 'snapshot'; readonly outcome: 'stale' | 'hit' }
  | { readonly answer: 'not-found'; readonly outcome: 'stale' }
  | { readonly answer: 'origin-or-mirror'; readonly outcome: 'miss' | 'bypass' };

type Any = '*';
type Row = readonly [
  roles: readonly RepodataRole[] | Any,
  origin: readonly OriginSays[] | Any,
  holding: readonly Holding[] | Any,
  rule: ServingRule,
];

const UP: readonly OriginSays[] = ['serves-snapshot', 'serves-other'];
const FOLLOWS_REPOMD: readonly RepodataRole[] = ['companion', 'listed-fixed'];

/** Read top-down: the first row that matches decides. */
// biome-ignore format: a decision table reads best in columns
export const SERVING_RULES: readonly Row[] = [
  // role               origin says            snapshot holds  answer
  [['repomd'],          ['serves-snapshot'],   ['stored'],     { answer: 'origin', outcome: 'stored' }],
  [['repomd'],          UP,                    '*',            { answer: 'origin', outcome: 'miss', trigger: true }],
  [['repomd'],          ['cannot-serve'],      ['stored'],     { answer: 'snapshot', outcome: 'stale' }],
  [['repomd'],          ['cannot-serve'],      '*',            { answer: 'origin-or-mirror', outcome: 'miss' }],
  [FOLLOWS_REPOMD,      ['serves-snapshot'],   ['stored'],     { answer: 'origin', outcome: 'stored' }],
  [FOLLOWS_REPOMD,      UP,                    '*',            { answer: 'origin', outcome: 'bypass' }],
  [['companion'],       ['cannot-serve'],      ['stored'],     { answer: 'snapshot', outcome: 'stale' }],
  [['companion'],       ['cannot-serve'],      ['absent'],     { answer: 'not-found', outcome: 'stale' }],
  [['listed-fixed'],    ['cannot-serve'],      ['stored'],     { answer: 'snapshot', outcome: 'hit' }],
  [['listed-content'],  ['serves-snapshot'],   ['stored'],     { answer: 'origin', outcome: 'stored' }],
  [['listed-content'],  ['cannot-serve'],      ['stored'],     { answer: 'snapshot', outcome: 'hit' }],
  ['*',                 UP,                    '*',            { answer: 'origin', outcome: 'bypass' }],
  ['*',                 ['cannot-serve'],      '*',            { answer: 'origin-or-mirror', outcome: 'bypass' }],
];

const matches = <T extends string>(allowed: readonly T[] | Any, value: T): boolean =>
  allowed === '*' || allowed.includes(value);

/** The rule for one request: the first row of SERVING_RULES that matches. */
export const servingRule = (role: RepodataRole, origin: OriginSays, holding: Holding): ServingRule => {
  const row = SERVING_RULES.find(
    ([roles, says, holds]) => matches(roles, role) && matches(says, origin) && matches(holds, holding),
  );
  // The last two rows match every role and holding, for each value of OriginSays.
  if (row === undefined) throw new Error(`no serving rule for ${role}, ${origin}, ${holding}`);
  return row[3];
};
