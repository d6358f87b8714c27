/**
 * Real RPMs for the benchmark, built once with rpmbuild (payload stored
 * uncompressed, so the file is as large as asked) and kept in
 * node_modules/.cache/rpm-cache/bench-rpms/ for the next run.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { buildRpm, rpmFileName, type TestPackage } from '../__tests__/helpers/rpm-fixtures.js';

export const RPM_DIR = resolve('node_modules/.cache/rpm-cache/bench-rpms');

const benchPackage = (megabytes: number): TestPackage => ({
  name: `bench-payload-${megabytes}M`,
  version: '1.0',
  release: '1',
});

/** Builds (or finds) a noarch RPM with `megabytes` MiB of random payload; returns its path. */
export const benchRpm = async (megabytes: number): Promise<string> => {
  const pkg = benchPackage(megabytes);
  const out = join(RPM_DIR, rpmFileName(pkg));
  if (existsSync(out)) return out;
  const work = join(RPM_DIR, `work-${megabytes}`);
  await rm(work, { recursive: true, force: true });
  await buildRpm(pkg, work, RPM_DIR, { payloadBytes: megabytes * 1024 * 1024 });
  await rm(work, { recursive: true, force: true });
  return out;
};
