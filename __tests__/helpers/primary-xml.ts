import { createHash } from 'node:crypto';
import { identityOfFileName } from '../../src/uploader/rpm-name.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const escaped = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('"', '&quot;');

/**
 * primary.xml as createrepo_c writes it, for `rpms` (path in the repository
 * → bytes): name, arch, version and the source RPM from each conventional
 * file name (`sourceOf` may name another source package).
 */
export const primaryXml = (
  rpms: ReadonlyMap<string, Buffer>,
  { sourceOf = (name: string) => name }: { sourceOf?: (name: string) => string } = {},
): string =>
  [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="${rpms.size}">`,
    ...[...rpms].map(([href, bytes]) => {
      const file = href.slice(href.lastIndexOf('/') + 1);
      const identity = identityOfFileName(file) ?? { name: file, version: '1.0', release: '1', arch: 'noarch' };
      const { name, version, release, arch } = identity;
      return [
        '<package type="rpm">',
        `  <name>${escaped(name)}</name>`,
        `  <arch>${arch}</arch>`,
        `  <version epoch="0" ver="${escaped(version)}" rel="${escaped(release)}"/>`,
        `  <checksum type="sha256" pkgid="YES">${sha256(bytes)}</checksum>`,
        '  <summary>a test package</summary>',
        `  <size package="${bytes.length}" installed="0" archive="0"/>`,
        `  <location href="${escaped(href)}"/>`,
        '  <format>',
        `    <rpm:sourcerpm>${escaped(sourceOf(name))}-${escaped(version)}-${escaped(release)}.src.rpm</rpm:sourcerpm>`,
        '  </format>',
        '</package>',
      ].join('\n');
    }),
    '</metadata>',
    '',
  ].join('\n');
