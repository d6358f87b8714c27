import fc from 'fast-check';
import { ConfigError, parseCacheConfig, parseOrigins } from '../../src/commons/config.js';
import { cachePathOfUrl, originRoute, pathBeforeOrigins } from '../../src/commons/origins.js';
import { cacheKey } from '../../src/commons/paths.js';

const ORIGINS =
  'fedora=https://dl.fedoraproject.org/pub/fedora/linux,https://mirror.example.edu/fedora/linux ' +
  'epel=https://dl.fedoraproject.org/pub/epel\n  centos=http://mirror.stream.centos.org/';

describe('ORIGINS', () => {
  it('reads name=url[,url...] entries, whitespace-separated, the URLs after the first being mirrors', () => {
    expect(parseOrigins(ORIGINS)).toEqual([
      {
        name: 'fedora',
        urls: ['https://dl.fedoraproject.org/pub/fedora/linux', 'https://mirror.example.edu/fedora/linux'],
      },
      { name: 'epel', urls: ['https://dl.fedoraproject.org/pub/epel'] },
      { name: 'centos', urls: ['http://mirror.stream.centos.org'] },
    ]);
  });

  it.each([
    ['fedora', 'ORIGINS entry "fedora" is invalid: expected name=url[,url...]'],
    ['Fedora=https://x', 'ORIGINS entry "Fedora=https://x" is invalid: the name must match'],
    ['default=https://x', '"default" names ORIGIN_HOST'],
    ['a=https://x a=https://y', 'ORIGINS entry "a=https://y" is invalid: a is named twice'],
    ['a=dl.fedoraproject.org', 'dl.fedoraproject.org: expected http(s)://host[:port][/base/path]'],
    ['a=https://x,ftp://y', 'ftp://y: expected http(s)://host[:port][/base/path]'],
    ['a=https://x?q=1', 'https://x?q=1: a base URL cannot carry a query or fragment'],
    ['a=https://x,', ': expected http(s)://host[:port][/base/path]'],
  ])('refuses %j, naming the entry', (value, message) => {
    expect(() => parseOrigins(value)).toThrow(ConfigError);
    expect(() => parseOrigins(value)).toThrow(message);
  });

  it('never shows credentials, in any URL of the entry', () => {
    const refused = () => parseOrigins('a=https://x,https://user:secret@mirror.example/');
    expect(refused).toThrow('ORIGINS entry "a=https://x,https://***@mirror.example/" is invalid');
    expect(refused).not.toThrow(/secret/);
  });

  it('bounds ORIGIN_HEAD_TIMEOUT when an origin has mirrors: one request may wait for two HEADs', () => {
    const env = { S3_BUCKET_NAME: 'b', ORIGINS: 'a=https://x,https://y', ORIGIN_HEAD_TIMEOUT: '20' };
    expect(() => parseCacheConfig(env)).toThrow(
      'ORIGIN_HEAD_TIMEOUT="20" is invalid: must be greater than 0 and at most 14 (ORIGINS gives a mirrors: a request may wait for two HEADs)',
    );
    expect(parseCacheConfig({ ...env, ORIGINS: 'a=https://x' }).originHeadTimeoutMs).toBe(20_000);
  });
});

describe('originRoute', () => {
  const config = parseCacheConfig({ S3_BUCKET_NAME: 'b', ORIGIN_HOST: 'dl.fedoraproject.org', ORIGINS });

  it("sends a path whose first segment names an origin to that origin's URLs, the name taken off", () => {
    expect(originRoute(config, 'fedora/updates/44/Everything/x86_64/Packages/g/g++-1.0^1-1.rpm')).toEqual({
      origin: 'fedora',
      urls: [
        'https://dl.fedoraproject.org/pub/fedora/linux/updates/44/Everything/x86_64/Packages/g/g++-1.0%5E1-1.rpm',
        'https://mirror.example.edu/fedora/linux/updates/44/Everything/x86_64/Packages/g/g++-1.0%5E1-1.rpm',
      ],
    });
    expect(originRoute(config, 'centos/9-stream/BaseOS/x86_64/os/repodata/repomd.xml')).toEqual({
      origin: 'centos',
      urls: ['http://mirror.stream.centos.org/9-stream/BaseOS/x86_64/os/repodata/repomd.xml'],
    });
  });

  it('sends every other path to ORIGIN_HOST whole, as without ORIGINS', () => {
    const path = 'pub/fedora/linux/updates/44/Everything/x86_64/Packages/b/bash-5.2-1.fc44.x86_64.rpm';
    const without = parseCacheConfig({ S3_BUCKET_NAME: 'b', ORIGIN_HOST: 'dl.fedoraproject.org' });

    expect(originRoute(config, path)).toEqual({ origin: 'default', urls: [`https://dl.fedoraproject.org/${path}`] });
    expect(originRoute(without, path)).toEqual(originRoute(config, path));
    // A segment that only starts like a name is no name.
    expect(originRoute(config, 'fedoras/x.rpm').origin).toBe('default');
  });

  it("keeps every path inside its origin's base (dot segments resolve within it) and its key under cache/<path>", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('..', '.', 'a', '%2e%2e', 'b c', 'x.rpm'), { maxLength: 8 }), (segments) => {
        const path = ['epel', ...segments].join('/');
        const [url] = originRoute(config, path).urls;
        expect(url.startsWith('https://dl.fedoraproject.org/pub/epel/')).toBe(true);
        expect(cacheKey(path)).toBe(`cache/${path}`);
      }),
    );
  });
});

describe('pathBeforeOrigins', () => {
  const config = (origins: string) =>
    parseCacheConfig({ S3_BUCKET_NAME: 'b', ORIGIN_HOST: 'https://dl.fedoraproject.org', ORIGINS: origins });

  it('finds where a named origin’s file was cached before ORIGINS named it, when its base lies under ORIGIN_HOST', () => {
    expect(
      pathBeforeOrigins(
        config(ORIGINS),
        'fedora/releases/44/Everything/x86_64/os/Packages/b/bash-5.3-1.fc44.x86_64.rpm',
      ),
    ).toBe('pub/fedora/linux/releases/44/Everything/x86_64/os/Packages/b/bash-5.3-1.fc44.x86_64.rpm');
    expect(pathBeforeOrigins(config(ORIGINS), 'epel/9/x.rpm')).toBe('pub/epel/9/x.rpm');
    expect(pathBeforeOrigins(config('odd=https://dl.fedoraproject.org/a%20b/c%2Bd'), 'odd/x.rpm')).toBe(
      'a b/c+d/x.rpm',
    );
  });

  it('has none for an origin elsewhere, one at ORIGIN_HOST’s root, or a path ORIGIN_HOST serves itself', () => {
    expect(pathBeforeOrigins(config(ORIGINS), 'centos/9-stream/x.rpm')).toBeUndefined();
    expect(pathBeforeOrigins(config('root=https://dl.fedoraproject.org'), 'root/x.rpm')).toBeUndefined();
    expect(
      pathBeforeOrigins(config('near=https://dl.fedoraproject.org.evil.example/pub'), 'near/x.rpm'),
    ).toBeUndefined();
    expect(pathBeforeOrigins(config(ORIGINS), 'pub/fedora/linux/x.rpm')).toBeUndefined();
  });

  it('takes the path below ORIGIN_HOST’s own base path, as the default route joined them', () => {
    const underPub = parseCacheConfig({
      S3_BUCKET_NAME: 'b',
      ORIGIN_HOST: 'https://dl.fedoraproject.org/pub',
      ORIGINS: 'f=https://dl.fedoraproject.org/pub/fedora/linux',
    });

    // Before ORIGINS, https://dl.fedoraproject.org/pub/fedora/linux/x.rpm was asked as fedora/linux/x.rpm.
    expect(pathBeforeOrigins(underPub, 'f/releases/44/x.rpm')).toBe('fedora/linux/releases/44/x.rpm');
  });

  it('finds the old path through a mirror under ORIGIN_HOST when the first URL is elsewhere', () => {
    const mirrored = config(
      'fedora=https://mirror.example.edu/fedora/linux,https://dl.fedoraproject.org/pub/fedora/linux',
    );

    expect(pathBeforeOrigins(mirrored, 'fedora/releases/44/x.rpm')).toBe('pub/fedora/linux/releases/44/x.rpm');
  });

  it('has none when the old path now belongs to another name (its key may hold that origin’s file)', () => {
    const hidden = config('pub=https://elsewhere.example/p fedora=https://dl.fedoraproject.org/pub/fedora/linux');

    // cache/pub/fedora/linux/x.rpm is now where pub's https://elsewhere.example/p/fedora/linux/x.rpm is cached.
    expect(pathBeforeOrigins(hidden, 'fedora/x.rpm')).toBeUndefined();
    expect(pathBeforeOrigins(config('pub=https://dl.fedoraproject.org/pub'), 'pub/x.rpm')).toBeUndefined();
  });
});

describe('cachePathOfUrl', () => {
  const config = {
    originBaseUrl: 'https://dl.fedoraproject.org',
    origins: parseOrigins(
      'epel=https://dl.fedoraproject.org/pub/epel,https://mirror.example/epel centos=https://mirror.stream.centos.org',
    ),
  };

  it.each([
    [
      'under ORIGIN_HOST',
      'https://dl.fedoraproject.org/pub/fedora/linux/x/repodata/repomd.xml',
      'pub/fedora/linux/x/repodata/repomd.xml',
    ],
    [
      "under a named origin's first URL",
      'https://dl.fedoraproject.org/pub/epel/9/x/repodata/repomd.xml',
      'epel/9/x/repodata/repomd.xml',
    ],
    ['under one of its mirrors', 'https://mirror.example/epel/9/x/repodata/repomd.xml', 'epel/9/x/repodata/repomd.xml'],
    ['percent-encoded', 'https://mirror.stream.centos.org/a%2Bb/c%20d', 'centos/a+b/c d'],
  ])('maps a URL %s to the cache path that routes back to it', (_name, url, path) => {
    expect(cachePathOfUrl(config, url)).toBe(path);
    expect(originRoute(config, path).urls).toContain(url.replace('%2B', '+'));
  });

  it.each([
    ['under no configured base URL', 'https://elsewhere.example/pub/fedora/x'],
    ['of another scheme', 'http://dl.fedoraproject.org/pub/fedora/x'],
    ['a prefix that is not a whole segment', 'https://dl.fedoraproject.org.evil.example/pub/x'],
    ['with a query', 'https://dl.fedoraproject.org/pub/x?y=1'],
    ['with a dot segment', 'https://dl.fedoraproject.org/pub/../x'],
    ['that cannot be decoded', 'https://dl.fedoraproject.org/pub/%zz'],
    ['whose path would route to a named origin', 'https://dl.fedoraproject.org/epel/9/x'],
  ])('maps nothing for a URL %s', (_name, url) => {
    expect(cachePathOfUrl(config, url)).toBeUndefined();
  });
});
