/**
 * Every Node that can run a built bundle here: the one running the tests
 * (npm scripts run on the Node 24 that node_modules holds) and those on PATH
 * outside node_modules (the system's Node 20, the command line's target).
 * Some warnings exist in one version only: Node 20 counts an abortable
 * timer's listener against MaxListeners, Node 24 does not.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface NodeBinary {
  readonly path: string;
  /** `v20.20.2` */
  readonly version: string;
}

export const nodeBinaries = (): NodeBinary[] => {
  const candidates = [
    process.execPath,
    ...(process.env.PATH ?? '')
      .split(delimiter)
      .filter((directory) => directory !== '' && !directory.includes('node_modules'))
      .map((directory) => join(directory, 'node'))
      .filter((path) => existsSync(path)),
  ];
  const byRealPath = new Map<string, NodeBinary>();
  for (const path of candidates) {
    const real = realpathSync(path);
    if (byRealPath.has(real)) continue;
    const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
    byRealPath.set(real, { path, version });
  }
  return [...byRealPath.values()];
};
