import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const E2E_DEBIAN_PACKAGES = 'dnf dnf-plugins-core createrepo-c rpm';

/**
 * Fails, naming the Debian packages to install, when a tool the end-to-end
 * tests drive is missing: a missing dnf must not turn into a silent skip.
 */
export const requireE2eTools = async (): Promise<void> => {
  const missing: string[] = [];
  for (const [tool, args] of [
    ['rpmbuild', ['--version']],
    ['createrepo_c', ['--version']],
    ['dnf', ['download', '--help']],
  ] as const) {
    try {
      await run(tool, [...args], { timeout: 30_000 });
    } catch {
      missing.push(tool === 'dnf' ? 'dnf download (dnf, dnf-plugins-core)' : tool);
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

/** Builds a real noarch RPM with rpmbuild into `outDir`; returns its path. */
export const buildRpm = async (pkg: TestPackage, workDir: string, outDir: string): Promise<string> => {
  const specDir = join(workDir, 'specs');
  await mkdir(specDir, { recursive: true });
  const spec = join(specDir, `${pkg.name}.spec`);
  await writeFile(
    spec,
    [
      `Name: ${pkg.name}`,
      `Version: ${pkg.version}`,
      `Release: ${pkg.release}`,
      'Summary: rpm-cache end-to-end test package',
      'License: MIT',
      'BuildArch: noarch',
      '%description',
      'A package that exists only to be cached.',
      '%install',
      'mkdir -p %{buildroot}/usr/share/rpm-cache-e2e',
      'echo "%{name} %{version}" > %{buildroot}/usr/share/rpm-cache-e2e/%{name}.txt',
      '%files',
      '/usr/share/rpm-cache-e2e/%{name}.txt',
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
      spec,
    ],
    { timeout: 60_000 },
  );
  return join(outDir, rpmFileName(pkg));
};

export const createRepo = async (repoDir: string): Promise<void> => {
  await run('createrepo_c', ['-q', repoDir], { timeout: 60_000 });
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
