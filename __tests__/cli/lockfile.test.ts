import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LockfileError, parseLockfile, readLockfiles } from '../../src/cli/lockfile.js';

const SHA = 'a'.repeat(64);
const entry = (name: string, url: string, extra = '') =>
  `      - url: ${url}\n        repoid: updates\n        size: 1234\n        checksum: sha256:${SHA}\n        name: ${name}\n        evr: 1.0-1.fc44\n        sourcerpm: ${name}-1.0-1.fc44.src.rpm\n${extra}`;

const LOCKFILE = `---
lockfileVersion: 1
lockfileVendor: redhat
arches:
  - arch: x86_64
    packages:
${entry('bash', 'https://dl.fedoraproject.org/pub/fedora/linux/updates/44/Everything/x86_64/Packages/b/bash-5.3.0-2.fc44.x86_64.rpm')}
${entry('libstdc++', 'https://dl.fedoraproject.org/pub/fedora/linux/updates/44/Everything/x86_64/Packages/l/libstdc++-15.1.1-2.fc44.x86_64.rpm')}
    source:
${entry('bash', 'https://dl.fedoraproject.org/pub/fedora/linux/updates/44/Everything/source/tree/Packages/b/bash-5.3.0-2.fc44.src.rpm')}
  - arch: aarch64
    packages:
${entry('bash', 'https://dl.fedoraproject.org/pub/fedora/linux/updates/44/Everything/aarch64/Packages/b/bash-5.3.0-2.fc44.aarch64.rpm')}
`;

describe('lockfile', () => {
  it('reads every arch, binary and source packages, with path, name, size and sha256', () => {
    const packages = parseLockfile(LOCKFILE, 'rpms.lock.yaml');

    expect(packages.map((pkg) => pkg.path)).toEqual([
      'pub/fedora/linux/updates/44/Everything/x86_64/Packages/b/bash-5.3.0-2.fc44.x86_64.rpm',
      'pub/fedora/linux/updates/44/Everything/x86_64/Packages/l/libstdc++-15.1.1-2.fc44.x86_64.rpm',
      'pub/fedora/linux/updates/44/Everything/source/tree/Packages/b/bash-5.3.0-2.fc44.src.rpm',
      'pub/fedora/linux/updates/44/Everything/aarch64/Packages/b/bash-5.3.0-2.fc44.aarch64.rpm',
    ]);
    expect(packages[1]).toEqual({
      url: 'https://dl.fedoraproject.org/pub/fedora/linux/updates/44/Everything/x86_64/Packages/l/libstdc++-15.1.1-2.fc44.x86_64.rpm',
      path: 'pub/fedora/linux/updates/44/Everything/x86_64/Packages/l/libstdc++-15.1.1-2.fc44.x86_64.rpm',
      name: 'libstdc++',
      size: 1234,
      sha256: SHA,
      sourceRpm: 'libstdc++-1.0-1.fc44.src.rpm',
      origin: 'rpms.lock.yaml: arches[0].packages[1]',
    });
  });

  it('decodes a percent-encoded URL path once', () => {
    const [pkg] = parseLockfile(
      `lockfileVersion: 1\narches:\n  - arch: noarch\n    packages:\n      - url: https://m.example/p/demo-c%2B%2B-1.0%5E1-1.noarch.rpm\n`,
      'f.yaml',
    );
    expect(pkg?.path).toBe('p/demo-c++-1.0^1-1.noarch.rpm');
    expect(pkg?.name).toBe('demo-c++-1.0^1-1.noarch.rpm');
  });

  it.each([
    ['{ not yaml: [', /^bad\.yaml: not YAML: /],
    ['- a\n- b\n', /^bad\.yaml: not an rpms\.lock\.yaml lockfile/],
    ['lockfileVersion: 7\narches: []\n', /^bad\.yaml: lockfileVersion 7 is not supported \(supported: 1\)$/],
    ['arches: []\n', /^bad\.yaml: not an rpms\.lock\.yaml \(no lockfileVersion\); its top-level keys: arches$/],
    [
      'services:\n  web:\n    image: nginx\nvolumes: {}\n',
      /^bad\.yaml: not an rpms\.lock\.yaml \(no lockfileVersion\); its top-level keys: services, volumes$/,
    ],
    ['lockfileVersion:\narches: []\n', /^bad\.yaml: lockfileVersion is empty \(supported: 1\)$/],
    ['lockfileVersion: 1\n', /^bad\.yaml: arches is missing or not a list$/],
    ['lockfileVersion: 1\narches:\n  - packages: 3\n', /^bad\.yaml: arches\[0\]\.packages is not a list$/],
    [
      'lockfileVersion: 1\narches:\n  - packages:\n      - name: bash\n        size: 1\n',
      /^bad\.yaml: arches\[0\]\.packages\[0\] \(bash\): no url$/,
    ],
    [
      'lockfileVersion: 1\narches:\n  - packages:\n      - url: ftp://m.example/a.rpm\n',
      /^bad\.yaml: arches\[0\]\.packages\[0\]: url "ftp:\/\/m\.example\/a\.rpm" is not http\(s\)$/,
    ],
    [
      'lockfileVersion: 1\narches:\n  - source:\n      - url: https://m.example/a.rpm\n        checksum: md5:abc\n',
      /^bad\.yaml: arches\[0\]\.source\[0\]: checksum "md5:abc" is invalid: expected sha256:<64 hex digits>$/,
    ],
    [
      `lockfileVersion: 1\narches:\n  - packages:\n      - url: https://m.example/a.rpm\n        checksum: sha256:${'a'.repeat(63)}\n`,
      /checksum "sha256:a{63}" is invalid/,
    ],
    [
      'lockfileVersion: 1\narches:\n  - packages:\n      - url: https://m.example/a.rpm\n        size: -1\n',
      /^bad\.yaml: arches\[0\]\.packages\[0\]: size -1 is invalid/,
    ],
    ['lockfileVersion: 1\narches:\n  - packages:\n      - url: https://m.example/\n', /names no file$/],
  ])('refuses %j naming the file and the entry', (text, message) => {
    expect(() => parseLockfile(text, 'bad.yaml')).toThrow(LockfileError);
    expect(() => parseLockfile(text, 'bad.yaml')).toThrow(message);
  });

  it.each([
    // Found at the end of the input: the parser says "line 5" of this 4-line file.
    [
      'lockfileVersion: 1\narches:\n  - arch: "x86_64\n    packages: []\n',
      'Missing closing "quote at the end of the file (after line 4)',
    ],
    [
      'lockfileVersion: 1\narches: [\n',
      'Flow sequence in block collection must be sufficiently indented and end with a ] at the end of the file (after line 2)',
    ],
    [
      'lockfileVersion: 1\narches: {',
      'Flow map in block collection must be sufficiently indented and end with a } at the end of the file (after line 2)',
    ],
    // Found inside the file: its own line, CRLF or not.
    [
      'lockfileVersion: 1\narches:\n  - arch: x86_64\n   packages: []\n',
      'Sequence item without - indicator at line 4, column 1',
    ],
    [
      'lockfileVersion: 1\r\narches:\r\n  - arch: x86_64\r\n   packages: []\r\n',
      'Sequence item without - indicator at line 4, column 1',
    ],
    ['lockfileVersion: 1\nlockfileVersion: 1\n', 'Map keys must be unique at line 2, column 1'],
  ])('places a YAML error on a line the file has: %j', (text, where) => {
    let thrown: unknown;
    try {
      parseLockfile(text, 'bad.yaml');
    } catch (error) {
      thrown = error;
    }

    expect(thrown).toBeInstanceOf(LockfileError);
    expect((thrown as LockfileError).message).toBe(`bad.yaml: not YAML: ${where}`);
  });

  describe('several files', () => {
    let work: string;
    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), 'rpm-cache-lockfiles-'));
    });
    afterAll(async () => {
      await rm(work, { recursive: true, force: true });
    });

    it('warms a URL listed in several lockfiles once', async () => {
      await writeFile(join(work, 'a.yaml'), LOCKFILE);
      await writeFile(join(work, 'b.yaml'), LOCKFILE);

      const packages = await readLockfiles([join(work, 'a.yaml'), join(work, 'b.yaml')]);

      expect(packages).toHaveLength(4);
    });

    it('refuses the same URL with two checksums', async () => {
      await writeFile(join(work, 'a.yaml'), LOCKFILE);
      await writeFile(join(work, 'c.yaml'), LOCKFILE.replaceAll(SHA, 'b'.repeat(64)));

      await expect(readLockfiles([join(work, 'a.yaml'), join(work, 'c.yaml')])).rejects.toThrow(
        /c\.yaml: arches\[0\]\.packages\[0\].*also in .*a\.yaml: arches\[0\]\.packages\[0\] with another checksum/,
      );
    });

    it('names a file it cannot read', async () => {
      await expect(readLockfiles([join(work, 'missing.yaml')])).rejects.toThrow(
        /missing\.yaml: cannot read it \(ENOENT\)/,
      );
    });
  });
});
