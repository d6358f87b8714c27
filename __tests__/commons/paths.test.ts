import fc from 'fast-check';
import {
  cacheKey,
  cacheKeyProblem,
  checkPath,
  encodePathSegment,
  isCacheable,
  originUrl,
} from '../../src/commons/paths.js';

const ORIGIN = 'https://dl.fedoraproject.org';

describe('checkPath', () => {
  it.each([
    'pub/fedora/linux/updates/44/Everything/x86_64/Packages/l/libstdc++-15.1.1-2.fc44.x86_64.rpm',
    'pub/Packages/d/demo-c++-1.0^20260101git-1.noarch.rpm',
    'pub/Packages/d/demo-2.0~rc1-1.noarch.rpm',
    'pub/with space/a b.rpm',
    'pub/ünïcödé/パッケージ-1.0-1.noarch.rpm',
    'pub/literal%2bpercent.rpm',
    'pub/.hidden/..x/x...rpm',
    'repodata/repomd.xml',
    // Odd, but each can be put in an origin URL: they go to origin, uncached.
    '/evil.example/x.rpm',
    'pub/',
    'pub//x.rpm',
    'pub/../../etc/passwd',
    '\\evil.example/x.rpm',
    `pub/${'a'.repeat(1100)}.rpm`,
  ])('accepts %j', (path) => {
    expect(checkPath(path)).toEqual({ valid: true, path });
  });

  it.each([
    [undefined, 'missing path'],
    ['', 'missing path'],
    [42, 'missing path'],
    ['pub/x.rpm\r\nSet-Cookie: a=b', 'control characters'],
    ['pub/x\u0000.rpm', 'control characters'],
    ['pub/x\u0085.rpm', 'control characters'],
    ['pub/\ud800.rpm', 'not valid Unicode'],
  ])('rejects %j with a reason mentioning %s', (path, reason) => {
    const check = checkPath(path);

    expect(check.valid).toBe(false);
    expect(check.valid ? '' : check.reason).toContain(reason);
  });
});

describe('cacheKeyProblem', () => {
  it.each([
    ['/evil.example/x.rpm', 'empty segment'],
    ['//evil.example/x.rpm', 'empty segment'],
    ['pub//x.rpm', 'empty segment'],
    ['pub/', 'empty segment'],
    ['\\evil.example/x.rpm', 'backslash'],
    ['pub/../../etc/passwd', '".."'],
    ['..', '".."'],
    ['pub/./x.rpm', '"."'],
    [`pub/${'a'.repeat(1020)}.rpm`, 'too long'],
    [`pub/${'é'.repeat(509)}.rpm`, 'too long'],
  ])('refuses %j as a cache key: %s', (path, reason) => {
    expect(cacheKeyProblem(path)).toContain(reason);
  });

  it('accepts a path whose cache key is exactly 1024 bytes', () => {
    const path = `${'a'.repeat(1024 - 'cache/'.length - '.rpm'.length)}.rpm`;

    expect(Buffer.byteLength(cacheKey(path))).toBe(1024);
    expect(cacheKeyProblem(path)).toBeUndefined();
  });
});

describe('isCacheable', () => {
  it('matches configured suffixes only, case-sensitively', () => {
    expect(isCacheable('a/b-1.0.rpm', ['.rpm'])).toBe(true);
    expect(isCacheable('a/b-1.0.drpm', ['.rpm', '.drpm'])).toBe(true);
    expect(isCacheable('a/b-1.0.drpm', ['.rpm'])).toBe(false);
    expect(isCacheable('repodata/repomd.xml', ['.rpm'])).toBe(false);
    expect(isCacheable('a/b-1.0.RPM', ['.rpm'])).toBe(false);
    expect(isCacheable('a/rpm', ['.rpm'])).toBe(false);
  });
});

describe('originUrl', () => {
  it.each([
    ['l/libstdc++-15.1.1-2.fc44.x86_64.rpm', `${ORIGIN}/l/libstdc++-15.1.1-2.fc44.x86_64.rpm`],
    ['d/demo-1.0^20260101git-1.noarch.rpm', `${ORIGIN}/d/demo-1.0%5E20260101git-1.noarch.rpm`],
    ['d/demo-2.0~rc1-1.noarch.rpm', `${ORIGIN}/d/demo-2.0~rc1-1.noarch.rpm`],
    ['with space/a b.rpm', `${ORIGIN}/with%20space/a%20b.rpm`],
    ['literal%2bpercent.rpm', `${ORIGIN}/literal%252bpercent.rpm`],
    ['ü/x?y#z.rpm', `${ORIGIN}/%C3%BC/x%3Fy%23z.rpm`],
    ['evil.example@x/a.rpm', `${ORIGIN}/evil.example@x/a.rpm`],
  ])('encodes %j exactly once', (path, expected) => {
    expect(originUrl(ORIGIN, path)).toBe(expected);
  });

  it.each([
    ['a/./b.rpm', `${ORIGIN}/a/b.rpm`],
    ['a/../b.rpm', `${ORIGIN}/b.rpm`],
    ['../../../b.rpm', `${ORIGIN}/b.rpm`],
    ['a/b/..', `${ORIGIN}/a/`],
    ['a/.', `${ORIGIN}/a/`],
    ['pub/', `${ORIGIN}/pub/`],
    ['/x', `${ORIGIN}//x`],
  ])('resolves dot segments of %j within the path: %s', (path, expected) => {
    expect(originUrl(ORIGIN, path)).toBe(expected);
  });

  it('keeps the base path of the origin', () => {
    expect(originUrl('http://127.0.0.1:8081/mirror', 'x.rpm')).toBe('http://127.0.0.1:8081/mirror/x.rpm');
  });

  it('round-trips: decoding the URL path gives back the request path', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }), (name) => {
        const check = checkPath(`pub/${name}.rpm`);
        fc.pre(check.valid);
        const url = new URL(originUrl(ORIGIN, `pub/${name}.rpm`));
        expect(decodeURIComponent(url.pathname)).toBe(`/pub/${name}.rpm`);
      }),
      { seed: 20261128, numRuns: 500 },
    );
  });

  it('never leaves the origin host, its base path or adds a query, for any valid path', () => {
    const hostileSegment = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.constantFrom(
        '..',
        '.',
        '',
        '//evil.example',
        '\\evil',
        '@evil.example',
        '%2e%2e',
        '%0d%0a',
        '?x=1',
        '#f',
        ':',
      ),
    );
    fc.assert(
      fc.property(fc.array(hostileSegment, { minLength: 1, maxLength: 6 }), (segments) => {
        const path = segments.join('/');
        const check = checkPath(path);
        fc.pre(check.valid);
        const location = originUrl('https://mirror.example/base', path);
        const url = new URL(location);
        expect(url.host).toBe('mirror.example');
        expect(url.pathname.startsWith('/base/')).toBe(true);
        expect(url.search).toBe('');
        expect(url.hash).toBe('');
        expect(/[\r\n]/.test(location) || location.includes(String.fromCharCode(0))).toBe(false);
        if (cacheKeyProblem(path) === undefined) {
          expect(cacheKey(path).startsWith('cache/')).toBe(true);
          expect(cacheKey(path).split('/')).not.toContain('..');
        }
      }),
      { seed: 20261128, numRuns: 2000 },
    );
  });
});

describe('encodePathSegment', () => {
  it('encodes the slash, so a segment cannot add a level', () => {
    expect(encodePathSegment('a/b')).toBe('a%2Fb');
  });
});
