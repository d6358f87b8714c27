import fc from 'fast-check';
import { isContentNamed, isSnapshotRequest, repodataPath, sameRepomd } from '../../src/commons/repodata.js';
import { blobKey, manifestKey, parseManifest } from '../../src/commons/snapshot-manifest.js';

const ID = 'f'.repeat(64);

describe('repodataPath', () => {
  it.each([
    ['pub/repo/repodata/repomd.xml', { kind: 'repomd', repoDir: 'pub/repo/', file: 'repodata/repomd.xml' }],
    ['pub/repo/repodata/repomd.xml.asc', { kind: 'companion', repoDir: 'pub/repo/', file: 'repodata/repomd.xml.asc' }],
    ['pub/repo/repodata/repomd.xml.key', { kind: 'companion', repoDir: 'pub/repo/', file: 'repodata/repomd.xml.key' }],
    ['pub/repo/media.1/media', { kind: 'companion', repoDir: 'pub/repo/', file: 'media.1/media' }],
    [
      'pub/repo/repodata/x-primary.xml.zst',
      { kind: 'listed', repoDir: 'pub/repo/', file: 'repodata/x-primary.xml.zst' },
    ],
    ['repodata/repomd.xml', { kind: 'repomd', repoDir: '', file: 'repodata/repomd.xml' }],
  ])('reads %s as repository metadata', (path, expected) => {
    expect(repodataPath(path)).toEqual(expected);
  });

  it.each([
    'pub/repo/Packages/a.rpm',
    'pub/repo/repodata/sub/x.xml',
    'pub/repo/repodata/',
    'pub/myrepodata/repomd.xml',
  ])('leaves %s alone', (path) => {
    expect(repodataPath(path)).toBeUndefined();
  });

  it('asks for a snapshot only for repomd.xml itself', () => {
    expect(isSnapshotRequest('pub/repo/repodata/repomd.xml')).toBe(true);
    expect(isSnapshotRequest('pub/repo/repodata/repomd.xml.asc')).toBe(false);
    expect(isSnapshotRequest('pub/repo/repodata/primary.xml.gz')).toBe(false);
  });

  it('keeps the manifest and a snapshot’s files apart for every repository path', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z0-9._-]{1,8}$/), { maxLength: 4 }), (segments) => {
        const repoDir = segments.map((segment) => `${segment}/`).join('');
        const manifest = manifestKey(repoDir);
        expect(manifest).toBe(`snapshots/current/${repoDir}repodata/repomd.xml`);
        // Files live under blobs/, manifests under current/: never the same key, whatever the repository's path.
        expect(blobKey(repoDir, 'sha256', ID)).not.toBe(manifest);
        expect(blobKey(repoDir, 'sha256', ID).startsWith('snapshots/current/')).toBe(false);
      }),
    );
  });
});

describe('parseManifest', () => {
  const manifest = {
    id: ID,
    createdAt: '2026-12-01T00:00:00Z',
    validators: { etag: '"e"', lastModified: 'Tue, 01 Dec 2026 00:00:00 GMT', contentLength: 10 },
    files: { 'repodata/repomd.xml': { key: `snapshots/blobs/repodata/sha256-${ID}`, contentNamed: false } },
    absent: ['media.1/media'],
    settled: false,
  };

  it('reads what the uploader writes', () => {
    expect(parseManifest(JSON.stringify(manifest))).toEqual(manifest);
  });

  it('reads a manifest written before files were stored by checksum (plain keys, settled)', () => {
    const old = { ...manifest, files: { 'repodata/repomd.xml': `snapshots/${ID}/repodata/repomd.xml` } };
    delete (old as { settled?: boolean }).settled;

    expect(parseManifest(JSON.stringify(old))).toEqual({
      ...manifest,
      files: { 'repodata/repomd.xml': { key: `snapshots/${ID}/repodata/repomd.xml`, contentNamed: false } },
      settled: true,
    });
  });

  it.each([
    ['not JSON', 'nope'],
    ['a bad id', JSON.stringify({ ...manifest, id: 'current' })],
    ['no repomd.xml', JSON.stringify({ ...manifest, files: {} })],
    ['files that are not keys', JSON.stringify({ ...manifest, files: { 'repodata/repomd.xml': 1 } })],
    ['no absent list', JSON.stringify({ ...manifest, absent: undefined })],
    ['a previous snapshot that is not one', JSON.stringify({ ...manifest, previous: { id: 'x', files: {} } })],
  ])('refuses %s (never served)', (_name, text) => {
    expect(parseManifest(text)).toBeUndefined();
  });
});

describe('sameRepomd', () => {
  it.each([
    [{ etag: '"a"' }, { etag: 'W/"a"' }, true],
    [{ etag: '"a"' }, { etag: '"b"' }, false],
    [{ etag: '"a"', lastModified: 'x', contentLength: 1 }, { etag: '"b"', lastModified: 'x', contentLength: 1 }, false],
    [{ lastModified: 'x', contentLength: 1 }, { lastModified: 'x', contentLength: 1 }, true],
    [{ lastModified: 'x', contentLength: 1 }, { lastModified: 'x', contentLength: 2 }, false],
    [{ contentLength: 1 }, { contentLength: 1 }, false],
    [{}, {}, false],
  ])('%j against the origin’s %j: %s', (snapshot, origin, same) => {
    expect(sameRepomd(snapshot, origin)).toBe(same);
  });
});

describe('isContentNamed', () => {
  it.each([
    [`repodata/${ID}-primary.xml.gz`, ID, true],
    [`repodata/${ID}-primary.xml.gz`, 'e'.repeat(64), false],
    ['repodata/primary.xml.gz', ID, false],
  ])('%s with checksum %s: %s', (file, checksum, named) => {
    expect(isContentNamed(file, checksum)).toBe(named);
  });

  it('tells a checksum-named file by its name alone, before the manifest is read', () => {
    expect(isContentNamed(`repodata/${ID}-primary.xml.gz`)).toBe(true);
    expect(isContentNamed('repodata/comps.xml')).toBe(false);
    expect(isContentNamed('repodata/abc-comps.xml')).toBe(false);
  });
});
