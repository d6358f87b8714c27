/**
 * Real RPMs for the benchmark, built once with rpmbuild (payload stored
 * uncompressed, so the file is as large as asked) and kept in
 * node_modules/.cache/rpm-cache/bench-rpms/ for the next run.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const RPM_DIR = 'node_modules/.cache/rpm-cache/bench-rpms';

export const benchRpmName = (megabytes: number): string => `bench-payload-${megabytes}M-1.0-1.noarch.rpm`;

/** Builds (or finds) a noarch RPM with `megabytes` MiB of random payload; returns its path. */
export const benchRpm = async (megabytes: number): Promise<string> => {
  const out = join(RPM_DIR, benchRpmName(megabytes));
  if (existsSync(out)) return out;
  const work = join(RPM_DIR, `work-${megabytes}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const spec = join(work, 'bench.spec');
  await writeFile(
    spec,
    [
      `Name: bench-payload-${megabytes}M`,
      'Version: 1.0',
      'Release: 1',
      'Summary: rpm-cache benchmark package',
      'License: MIT',
      'BuildArch: noarch',
      '%global debug_package %{nil}',
      '%global __os_install_post %{nil}',
      '%description',
      'Random bytes, stored uncompressed.',
      '%install',
      'mkdir -p %{buildroot}/usr/share/bench',
      `head -c ${megabytes * 1024 * 1024} /dev/urandom > %{buildroot}/usr/share/bench/payload`,
      '%files',
      '/usr/share/bench/payload',
      '',
    ].join('\n'),
  );
  await run(
    'rpmbuild',
    [
      '-bb',
      '--nodeps',
      '--define',
      `_topdir ${join(process.cwd(), work, 'rpmbuild')}`,
      '--define',
      `_rpmdir ${join(process.cwd(), RPM_DIR)}`,
      '--define',
      '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm',
      '--define',
      '_binary_payload w0.ufdio',
      spec,
    ],
    { timeout: 600_000, maxBuffer: 16 * 1024 * 1024 },
  );
  await rm(work, { recursive: true, force: true });
  return out;
};
