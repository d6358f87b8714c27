/**
 * What an RPM's file name says it is, by the convention every Fedora mirror
 * follows: `N-V-R.A.rpm` (source packages `N-V-R.src.rpm`, `nosrc` when they
 * leave sources out). The name and version may hold `-`-free parts only after
 * the name, so the last two `-` split name, version and release, and the last
 * `.` before `.rpm` the architecture.
 */

export interface RpmIdentity {
  readonly name: string;
  readonly version: string;
  readonly release: string;
  /** The build architecture, or `src` / `nosrc` for a source package. */
  readonly arch: string;
}

const CONVENTIONAL_NAME = /^(?<name>.+)-(?<version>[^-]+)-(?<release>[^-]+)\.(?<arch>[^.]+)\.rpm$/;

/** The identity a file name announces, or undefined when it does not follow the convention. */
export const identityOfFileName = (fileName: string): RpmIdentity | undefined => {
  const groups = CONVENTIONAL_NAME.exec(fileName)?.groups;
  if (groups === undefined) return undefined;
  const { name = '', version = '', release = '', arch = '' } = groups;
  return { name, version, release, arch };
};

/** The conventional file name of an identity. */
export const fileNameOf = ({ name, version, release, arch }: RpmIdentity): string =>
  `${name}-${version}-${release}.${arch}.rpm`;
