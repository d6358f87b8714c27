import fc from 'fast-check';
import { isOlderRepomd, MAX_LISTED_FILES, parseRepomd, RepomdError } from '../../src/uploader/repomd.js';

const SHA256 = 'ab'.repeat(32);
const data = (body: string, type = 'primary') => `<data type="${type}">${body}</data>`;
const repomd = (...entries: string[]) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm"><revision>1</revision>${entries.join('')}</repomd>`;
const entry = (
  href: string,
  { checksum = `<checksum type="sha256">${SHA256}</checksum>`, size = '<size>42</size>' } = {},
) =>
  data(
    `${checksum}<open-checksum type="sha256">${'cd'.repeat(32)}</open-checksum><location href="${href}"/><timestamp>1</timestamp>${size}<open-size>99</open-size>`,
  );

describe('parseRepomd', () => {
  it('lists every file with its location, checksum and size, as librepo reads them', async () => {
    const xml = repomd(
      entry(`repodata/${SHA256}-primary.xml.gz`),
      data(`<checksum type="sha">${'12'.repeat(20)}</checksum><location href="repodata/comps.xml"/>`, 'group'),
    );

    expect((await parseRepomd(xml, 'pub/repo/')).files).toEqual([
      { type: 'primary', href: `repodata/${SHA256}-primary.xml.gz`, algorithm: 'sha256', checksum: SHA256, size: 42 },
      { type: 'group', href: 'repodata/comps.xml', algorithm: 'sha1', checksum: '12'.repeat(20) },
    ]);
  });

  it('reads entities in a location as a client does', async () => {
    expect((await parseRepomd(repomd(entry('repodata/a&amp;b.xml.gz')), '')).files[0]?.href).toBe(
      'repodata/a&b.xml.gz',
    );
  });

  it.each([
    ['not XML', '<repomd><data>', /not well-formed XML/],
    ['no repomd element', '<?xml version="1.0"?><html/>', /no <repomd> element/],
    ['no data', repomd(), /lists no <data>/],
    ['a location outside repodata/', repomd(entry('../../../etc/passwd')), /not a file directly under repodata\//],
    ['an absolute location', repomd(entry('/repodata/x.xml.gz')), /not a file directly under repodata\//],
    ['a location in a subdirectory', repomd(entry('repodata/sub/x.xml.gz')), /not a file directly under repodata\//],
    ['repomd.xml listing itself', repomd(entry('repodata/repomd.xml')), /repomd\.xml itself/],
    ['a dot segment', repomd(entry('repodata/..')), /dot segment/],
    [
      'a location elsewhere',
      repomd(
        data(
          `<checksum type="sha256">${SHA256}</checksum><location xml:base="https://elsewhere.example/" href="repodata/p.xml.gz"/>`,
        ),
      ),
      /lives elsewhere/,
    ],
    ['no checksum', repomd(entry('repodata/p.xml.gz', { checksum: '' })), /no checksum of a known type/],
    [
      'an unknown checksum type',
      repomd(entry('repodata/p.xml.gz', { checksum: `<checksum type="crc32">${SHA256}</checksum>` })),
      /no checksum of a known type/,
    ],
    [
      'a checksum of the wrong length',
      repomd(entry('repodata/p.xml.gz', { checksum: '<checksum type="sha256">abcd</checksum>' })),
      /not a sha256 digest/,
    ],
    [
      'a size that is not a number',
      repomd(entry('repodata/p.xml.gz', { size: '<size>-1</size>' })),
      /not a number of bytes/,
    ],
    ['the same file twice', repomd(entry('repodata/p.xml.gz'), entry('repodata/p.xml.gz')), /twice/],
    [
      'too many files',
      repomd(...Array.from({ length: MAX_LISTED_FILES + 1 }, (_, i) => entry(`repodata/${i}.xml.gz`))),
      /more than/,
    ],
  ])('refuses %s', async (_name, xml, reason) => {
    await expect(parseRepomd(xml, 'pub/repo/')).rejects.toThrow(RepomdError);
    await expect(parseRepomd(xml, 'pub/repo/')).rejects.toThrow(reason);
  });
});

describe('what orders the versions of a repository', () => {
  it('reads <revision> and the newest <timestamp> of the listed files', async () => {
    const xml = repomd(
      entry(`repodata/${SHA256}-primary.xml.gz`).replace(
        '<timestamp>1</timestamp>',
        '<timestamp>1796319867</timestamp>',
      ),
      entry('repodata/other.xml.gz').replace('<timestamp>1</timestamp>', '<timestamp>1796319900</timestamp>'),
    );

    expect(await parseRepomd(xml, '')).toMatchObject({ revision: '1', newestTimestamp: 1796319900 });
  });

  it.each([
    [{ revision: '9' }, { revision: '10' }, true],
    [{ revision: '10' }, { revision: '9' }, false],
    [{ revision: '10' }, { revision: '10' }, false],
    // Not both numbers: the timestamps decide, and without them nothing is older.
    [{ revision: 'b', newestTimestamp: 5 }, { revision: 'a', newestTimestamp: 6 }, true],
    [{ revision: '3', newestTimestamp: 9 }, { revision: 'x', newestTimestamp: 6 }, false],
    [{ revision: 'b' }, { revision: 'a' }, false],
    [{}, { revision: '2', newestTimestamp: 2 }, false],
    // Revisions that are numbers win over timestamps.
    [{ revision: '2', newestTimestamp: 100 }, { revision: '3', newestTimestamp: 1 }, true],
  ])('%j is older than %j: %s', (candidate, current, older) => {
    expect(isOlderRepomd(candidate, current)).toBe(older);
  });

  it('never finds two versions each older than the other', () => {
    const version = fc.record(
      {
        revision: fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 20n }).map(String), fc.string()),
        newestTimestamp: fc.nat(),
      },
      { requiredKeys: [] },
    );
    fc.assert(fc.property(version, version, (a, b) => !(isOlderRepomd(a, b) && isOlderRepomd(b, a))));
  });
});
