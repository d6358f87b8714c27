import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** dnf-plugins-core is not among them: Debian's declares `Breaks: zypper`. */
export const E2E_DEBIAN_PACKAGES = 'dnf zypper createrepo-c rpm';

export type E2eTool = 'rpmbuild' | 'createrepo_c' | 'dnf' | 'zypper';

/**
 * Fails, naming the Debian packages to install, when a tool an end-to-end
 * test file drives is missing: a missing dnf must not turn into a silent skip.
 * Each file asks for the tools it uses.
 */
export const requireE2eTools = async (
  tools: readonly E2eTool[] = ['rpmbuild', 'createrepo_c', 'dnf'],
): Promise<void> => {
  const missing: string[] = [];
  for (const tool of tools) {
    try {
      await run(tool, ['--version'], { timeout: 30_000 });
    } catch {
      missing.push(tool);
    }
  }
  if (missing.length > 0) {
    throw new Error(
      `end-to-end tests need ${missing.join(', ')}: install them with "apt-get install -y ${E2E_DEBIAN_PACKAGES}"`,
    );
  }
};

export interface TestPackage {
  readonly name: string;
  readonly version: string;
  readonly release: string;
}

export const rpmFileName = ({ name, version, release }: TestPackage): string =>
  `${name}-${version}-${release}.noarch.rpm`;

export interface BuildOptions {
  /** Also package this many random bytes, stored uncompressed (the file is then that large). */
  readonly payloadBytes?: number;
}

/** Builds a real noarch RPM with rpmbuild into `outDir`; returns its path. */
export const buildRpm = async (
  pkg: TestPackage,
  workDir: string,
  outDir: string,
  { payloadBytes }: BuildOptions = {},
): Promise<string> => {
  const specDir = join(workDir, 'specs');
  await mkdir(specDir, { recursive: true });
  const spec = join(specDir, `${pkg.name}.spec`);
  const payload = '/usr/share/rpm-cache-e2e/%{name}.payload';
  await writeFile(
    spec,
    [
      `Name: ${pkg.name}`,
      `Version: ${pkg.version}`,
      `Release: ${pkg.release}`,
      'Summary: rpm-cache end-to-end test package',
      'License: MIT',
      'BuildArch: noarch',
      // No brp scripts: they only slow down a large payload.
      ...(payloadBytes === undefined ? [] : ['%global __os_install_post %{nil}']),
      '%description',
      'A package that exists only to be cached.',
      '%install',
      'mkdir -p %{buildroot}/usr/share/rpm-cache-e2e',
      'echo "%{name} %{version}" > %{buildroot}/usr/share/rpm-cache-e2e/%{name}.txt',
      ...(payloadBytes === undefined ? [] : [`head -c ${payloadBytes} /dev/urandom > %{buildroot}${payload}`]),
      '%files',
      '/usr/share/rpm-cache-e2e/%{name}.txt',
      ...(payloadBytes === undefined ? [] : [payload]),
      '',
    ].join('\n'),
  );
  await run(
    'rpmbuild',
    [
      '-bb',
      '--nodeps',
      '--define',
      `_topdir ${join(workDir, 'rpmbuild')}`,
      '--define',
      `_rpmdir ${outDir}`,
      '--define',
      '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm',
      // A large payload stays uncompressed, so the file is as large as asked.
      ...(payloadBytes === undefined ? [] : ['--define', '_binary_payload w0.ufdio']),
      spec,
    ],
    { timeout: payloadBytes === undefined ? 60_000 : 600_000, maxBuffer: 16 * 1024 * 1024 },
  );
  return join(outDir, rpmFileName(pkg));
};

/** createrepo_c on `repoDir`; `simpleNames` for `--simple-md-filenames` (files overwritten in place by the next version). */
export const createRepo = async (repoDir: string, { simpleNames = false } = {}): Promise<void> => {
  await run('createrepo_c', ['-q', ...(simpleNames ? ['--simple-md-filenames'] : []), repoDir], { timeout: 60_000 });
};

/** Every file under `dir`, keyed by its path relative to `root`. */
export const readTree = async (dir: string, root = dir): Promise<Map<string, Buffer>> => {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      files.set(relative(root, path), await readFile(path));
    }
  }
  return files;
};
