/**
 * Real dnf and zypper, each run in a fresh root (no metadata of its own), as
 * a new CI container would. Core dnf only: Debian's dnf-plugins-core (`dnf
 * download`) removes zypper.
 */
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface ClientRun {
  readonly code: number;
  readonly output: string;
  readonly ms: number;
}

const CLIENT_ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' };

const run = (command: string, args: readonly string[], timeoutMs = 120_000): Promise<ClientRun> => {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(command, [...args], { timeout: timeoutMs, env: CLIENT_ENV }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, output: `${stdout}${stderr}`, ms: performance.now() - started });
    });
  });
};

/** Options every dnf run gets: a fresh root, no gpg, short timeouts, no retries that hide a failure. */
export const dnfOptions = (installroot: string): string[] => [
  `--installroot=${installroot}`,
  '--releasever=44',
  '--setopt=install_weak_deps=False',
  '--setopt=timeout=3',
  '--setopt=retries=1',
  '--setopt=*.gpgcheck=0',
  '--nodocs',
  '-y',
];

/** `dnf install --downloadonly` of `names` from the repository at `baseUrl`, into `downloadDir`. */
export const dnfDownload = (
  { installroot, baseUrl, downloadDir }: { installroot: string; baseUrl: string; downloadDir: string },
  names: readonly string[],
): Promise<ClientRun> =>
  run('dnf', [
    ...dnfOptions(installroot),
    `--repofrompath=r,${baseUrl}`,
    '--repo=r',
    'install',
    '--downloadonly',
    `--downloaddir=${downloadDir}`,
    ...names,
  ]);

/** Any dnf command in a fresh root. */
export const dnf = (installroot: string, args: readonly string[]): Promise<ClientRun> =>
  run('dnf', [...dnfOptions(installroot), ...args]);

/**
 * zypper in a fresh root: adds the repository at `baseUrl`, refreshes it and
 * downloads `names`; the packages land in {@link zypperPackagesDir}.
 */
export const zypperDownload = async (
  { root, baseUrl }: { root: string; baseUrl: string },
  names: readonly string[],
): Promise<ClientRun> => {
  const zypper = (args: string[]) => run('zypper', ['--non-interactive', '--root', root, '--no-gpg-checks', ...args]);
  const steps = [['addrepo', '-G', baseUrl, 'r'], ['refresh'], ['download', ...names]];
  let output = '';
  let ms = 0;
  for (const step of steps) {
    const result = await zypper(step);
    output += result.output;
    ms += result.ms;
    // zypper's download exits 0 even when a package is missing: the files decide.
    if (result.code !== 0) return { code: result.code, output, ms };
  }
  return { code: 0, output, ms };
};

/** Where zypper put what it downloaded (under the packages' location in the repository). */
export const zypperPackagesDir = (root: string): string => join(root, 'var/cache/zypp/packages/r/Packages');

/** File names in `dir` (empty when it does not exist). */
export const filesIn = async (dir: string): Promise<string[]> => (await readdir(dir).catch(() => [])).sort();
