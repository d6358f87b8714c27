/**
 * The README is a first read and the reference lives in docs/: every relative
 * link of either resolves, to a file that exists and, with a `#fragment`, to
 * a heading of that file (as GitHub names its anchors).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

const DOCUMENTS = ['README.md', ...readdirSync('docs').map((file) => join('docs', file))];

/** The text outside fenced code blocks, line by line. */
const proseLines = (text: string): string[] => {
  let fenced = false;
  return text.split('\n').filter((line) => {
    if (line.startsWith('```')) {
      fenced = !fenced;
      return false;
    }
    return !fenced;
  });
};

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const anchorOf = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replaceAll(' ', '-');

const anchorsOf = (file: string): Set<string> =>
  new Set(
    proseLines(readFileSync(file, 'utf8')).flatMap((line) => {
      const heading = /^#{1,6} (.*)$/.exec(line)?.[1];
      return heading === undefined ? [] : [anchorOf(heading)];
    }),
  );

const relativeLinks = (file: string): { target: string; fragment: string | undefined }[] =>
  proseLines(readFileSync(file, 'utf8')).flatMap((line) =>
    [...line.matchAll(/\]\(([^)\s]+)\)/g)].flatMap(([, link = '']) => {
      if (/^[a-z]+:/i.test(link)) return [];
      const [path = '', fragment] = link.split('#');
      return [{ target: path === '' ? file : normalize(join(dirname(file), path)), fragment }];
    }),
  );

describe('documentation', () => {
  it.each(DOCUMENTS)('%s: every relative link resolves, anchors included', (file) => {
    const broken = relativeLinks(file).filter(
      ({ target, fragment }) => !existsSync(target) || (fragment !== undefined && !anchorsOf(target).has(fragment)),
    );

    expect(broken).toEqual([]);
  });

  it('keeps the README a first read and links every page of docs/', () => {
    const readme = readFileSync('README.md', 'utf8');

    expect(readme.split('\n').length).toBeLessThan(250);
    for (const page of readdirSync('docs')) expect(readme).toContain(`](docs/${page})`);
  });

  it('knows a broken link when it sees one', () => {
    expect(anchorOf('IAM: least privilege')).toBe('iam-least-privilege');
    expect(anchorOf('The command line: `rpm-cache warm` and `rpm-cache rewrite`')).toBe(
      'the-command-line-rpm-cache-warm-and-rpm-cache-rewrite',
    );
    expect(anchorsOf('docs/design.md').has('decisions')).toBe(true);
    expect(anchorsOf('docs/design.md').has('no-such-heading')).toBe(false);
  });
});
