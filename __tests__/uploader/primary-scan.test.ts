import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { jest } from '@jest/globals';
import fc from 'fast-check';
import { findInPrimary, MAX_PACKAGE_ENTRY_CHARS, PrimaryScanError } from '../../src/uploader/primary-scan.js';
import { requireE2eTools } from '../helpers/rpm-fixtures.js';

const run = promisify(execFile);
const FIXTURE = '__tests__/fixtures/demo-c++-1.0^20260101git-1.noarch.rpm';

/** One `<package>` as createrepo_c writes it. */
const entry = (href: string, checksum: string, size: number, extra = '') => `<package type="rpm">
  <name>${href.split('/').at(-1)}</name>
  <arch>x86_64</arch>
  <version epoch="0" ver="1.0" rel="1.fc44"/>
  <checksum type="sha256" pkgid="YES">${checksum}</checksum>
  <summary>A package</summary>
  <description>Its café description, with &lt;markup&gt; and a location href="Packages/x.rpm" in prose.</description>
  <packager>Fedora Project</packager>
  <url>https://example.org/</url>
  <time file="1796146640" build="1795851250"/>
  <size package="${size}" installed="25" archive="304"/>
  <location ${extra}href="${href}"/>
  <format>
    <rpm:license>MIT</rpm:license>
    <rpm:provides><rpm:entry name="x" flags="EQ" epoch="0" ver="1.0" rel="1"/></rpm:provides>
  </format>
</package>
`;

const primary = (entries: string[]) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="${entries.length}">\n${entries.join('')}</metadata>\n`;

/** The text as chunks cut at `cuts` (byte offsets), as a stream delivers it. */
async function* chunked(text: string, cuts: number[] = []): AsyncGenerator<Buffer> {
  const bytes = Buffer.from(text);
  let start = 0;
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
    yield bytes.subarray(start, cut);
    start = cut;
  }
  yield bytes.subarray(start);
}

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);
const XML = primary([
  entry('Packages/a/alpha-1.0-1.fc44.x86_64.rpm', A, 100),
  entry('Packages/g/g++-1.0^git-1.fc44.x86_64.rpm', B, 200),
  entry('Packages/r/r&d-1.0-1.fc44.x86_64.rpm'.replace('&', '&amp;'), C, 300),
]);

describe('findInPrimary', () => {
  it("finds a package's checksum and size by its location", async () => {
    expect(await findInPrimary(chunked(XML), 'Packages/g/g++-1.0^git-1.fc44.x86_64.rpm')).toEqual({
      algorithm: 'sha256',
      checksum: B,
      size: 200,
    });
    expect(await findInPrimary(chunked(XML), 'Packages/a/alpha-1.0-1.fc44.x86_64.rpm')).toEqual({
      algorithm: 'sha256',
      checksum: A,
      size: 100,
    });
  });

  it('matches the location as libxml2 escapes it', async () => {
    expect(await findInPrimary(chunked(XML), 'Packages/r/r&d-1.0-1.fc44.x86_64.rpm')).toMatchObject({ checksum: C });
  });

  it('answers undefined for a package it does not list, or one that lives elsewhere (xml:base)', async () => {
    expect(await findInPrimary(chunked(XML), 'Packages/z/zeta-1.0-1.fc44.x86_64.rpm')).toBeUndefined();
    // Text that merely looks like the attribute is not a location.
    expect(await findInPrimary(chunked(XML), 'Packages/x.rpm')).toBeUndefined();
    // A prefix of a listed location is not that location.
    expect(await findInPrimary(chunked(XML), 'Packages/a/alpha-1.0-1.fc44.x86_64')).toBeUndefined();
    const based = primary([entry('Packages/a/alpha-1.0-1.fc44.x86_64.rpm', A, 100, 'xml:base="https://elsewhere/" ')]);
    expect(await findInPrimary(chunked(based), 'Packages/a/alpha-1.0-1.fc44.x86_64.rpm')).toBeUndefined();
  });

  it('reads only the entry’s own <location> element: not CDATA, comments, or an xml:base after href', async () => {
    const href = 'Packages/a/alpha-1.0-1.fc44.x86_64.rpm';
    const quoted = entry('Packages/o/other-1.0-1.fc44.x86_64.rpm', B, 200).replace(
      '<summary>A package</summary>',
      `<summary><![CDATA[see <location href="${href}"/> and <checksum type="sha256">${C}</checksum>]]></summary>`,
    );
    const commented = entry('Packages/p/pkg-1.0-1.fc44.x86_64.rpm', C, 300).replace(
      '<packager>',
      `<!-- moved from <location href="${href}"/> --><packager>`,
    );
    const elsewhere = entry(href, A, 100).replace(`href="${href}"`, `href="${href}" xml:base="https://elsewhere/"`);

    expect(await findInPrimary(chunked(primary([quoted, commented])), href)).toBeUndefined();
    expect(await findInPrimary(chunked(primary([quoted, commented, elsewhere])), href)).toBeUndefined();
    const listed = entry(href, A, 100).replace(
      '<summary>A package</summary>',
      `<summary><![CDATA[<checksum type="sha256">${C}</checksum>]]></summary>`,
    );
    expect(await findInPrimary(chunked(primary([quoted, listed])), href)).toEqual({
      algorithm: 'sha256',
      checksum: A,
      size: 100,
    });
  });

  it('searches each character for the end of an entry once, however small the chunks', async () => {
    // One entry of 2 M characters (a huge file list) in 1 KiB chunks, then the one asked for.
    const huge = entry('Packages/h/huge-1.0-1.fc44.x86_64.rpm', B, 1).replace(
      '<format>',
      `<format>${'<file>/usr/share/x</file>'.repeat(80_000)}`,
    );
    const text = primary([huge, entry('Packages/a/alpha-1.0-1.fc44.x86_64.rpm', A, 100)]);
    const cuts = Array.from({ length: Math.floor(Buffer.byteLength(text) / 1024) }, (_, index) => (index + 1) * 1024);
    let searched = 0;
    const { indexOf, lastIndexOf } = String.prototype;
    const count = (text: string, from: number | undefined, backwards: boolean) => {
      searched += backwards ? Math.min(from ?? text.length, text.length) : text.length - (from ?? 0);
    };
    const indexSpy = jest.spyOn(String.prototype, 'indexOf').mockImplementation(function (this: string, search, from) {
      if (search === '</package>') count(String(this), from, false);
      return indexOf.call(this, search, from);
    });
    const lastIndexSpy = jest.spyOn(String.prototype, 'lastIndexOf').mockImplementation(function (
      this: string,
      search,
      from,
    ) {
      if (search === '</package>') count(String(this), from, true);
      return lastIndexOf.call(this, search, from);
    });
    try {
      expect(await findInPrimary(chunked(text, cuts), 'Packages/a/alpha-1.0-1.fc44.x86_64.rpm')).toMatchObject({
        checksum: A,
      });
    } finally {
      indexSpy.mockRestore();
      lastIndexSpy.mockRestore();
    }
    // Quadratic (every chunk searching everything since the last end) would be ~1000 times the text.
    expect(searched).toBeLessThan(4 * text.length);
  });

  it('finds the same entry however the stream cuts the text', async () => {
    const length = Buffer.byteLength(XML);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: length - 1 }), { maxLength: 12 }), async (cuts) => {
        expect(await findInPrimary(chunked(XML, cuts), 'Packages/g/g++-1.0^git-1.fc44.x86_64.rpm')).toEqual({
          algorithm: 'sha256',
          checksum: B,
          size: 200,
        });
      }),
    );
  });

  it('refuses an entry that has no checksum, or more than one', async () => {
    const without = primary([entry('Packages/a/a.rpm', A, 1).replace(/<checksum.*<\/checksum>/, '')]);
    const twice = primary([
      entry('Packages/a/a.rpm', A, 1).replace('<summary>', `<checksum type="sha256">${B}</checksum><summary>`),
    ]);
    await expect(findInPrimary(chunked(without), 'Packages/a/a.rpm')).rejects.toThrow(PrimaryScanError);
    await expect(findInPrimary(chunked(twice), 'Packages/a/a.rpm')).rejects.toThrow('2 checksums, not one');
  });

  it('gives up on text that is not primary.xml instead of holding it all', async () => {
    async function* endless(): AsyncGenerator<Buffer> {
      const block = Buffer.alloc(1024 * 1024, 'x');
      for (let read = 0; read <= MAX_PACKAGE_ENTRY_CHARS + block.length; read += block.length) yield block;
      throw new Error('read past the bound');
    }
    await expect(findInPrimary(endless(), 'Packages/a/a.rpm')).rejects.toThrow(PrimaryScanError);
  });

  it("reads createrepo_c's own primary.xml: the checksum is the RPM file's SHA-256", async () => {
    await requireE2eTools(['createrepo_c']);
    const repo = await mkdtemp(join(tmpdir(), 'rpm-cache-primary-'));
    try {
      await mkdir(join(repo, 'Packages/d'), { recursive: true });
      await copyFile(FIXTURE, join(repo, 'Packages/d/demo-c++-1.0^20260101git-1.noarch.rpm'));
      await run('createrepo_c', [repo]);
      const primaryFile = (await readdir(join(repo, 'repodata'))).find((name) => name.endsWith('-primary.xml.gz'));
      const xml = gunzipSync(await readFile(join(repo, 'repodata', primaryFile ?? 'missing')));
      const rpm = await readFile(FIXTURE);

      expect(await findInPrimary(chunked(xml.toString()), 'Packages/d/demo-c++-1.0^20260101git-1.noarch.rpm')).toEqual({
        algorithm: 'sha256',
        checksum: createHash('sha256').update(rpm).digest('hex'),
        size: rpm.length,
      });
    } finally {
      await rm(repo, { recursive: true, force: true });
    }
  });
});
