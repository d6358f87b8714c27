/**
 * The CPU share Lambda gives a memory size, for real: Lambda allots CPU in
 * proportion to memory (one vCPU at 1,769 MB, AWS Lambda developer guide,
 * "Configuring Lambda function memory"), and a Linux cgroup's CFS quota does
 * the same to a process here. A worker started through `wrapper` runs with
 * `memoryMb`'s share of one core, in periods of PERIOD_US: its latency at that
 * size is measured, not modeled. Needs root and a writable cgroup file system
 * (cgroup v2 with the cpu controller, or v1's cpu hierarchy); elsewhere the
 * bench falls back to its model and says so.
 */
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LAMBDA_BOOTSTRAP } from '../__tests__/helpers/lambda-start.js';

/** Memory at which a function has one full vCPU. */
export const MB_PER_VCPU = 1769;
/**
 * The quota's period: Lambda does not publish its own; 20 ms (a fifth of CFS's
 * default) lets a request's burst of CPU run at full speed for less long, so
 * the figures lean to the slow side.
 */
export const PERIOD_US = 20_000;

const V2_ROOT = '/sys/fs/cgroup';
const V1_CPU = '/sys/fs/cgroup/cpu';

/** Makes a cgroup whose members share `fraction` of one core; its `cgroup.procs` path, or undefined. */
const makeGroup = async (name: string, fraction: number): Promise<string | undefined> => {
  const quota = Math.max(1000, Math.round(PERIOD_US * fraction));
  try {
    if (readFileSync(join(V2_ROOT, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('cpu')) {
      await writeFile(join(V2_ROOT, 'cgroup.subtree_control'), '+cpu').catch(() => undefined);
      const group = join(V2_ROOT, name);
      await mkdir(group, { recursive: true });
      await writeFile(join(group, 'cpu.max'), `${quota} ${PERIOD_US}`);
      return join(group, 'cgroup.procs');
    }
  } catch {
    // Not cgroup v2, or not writable here: try v1.
  }
  try {
    if (!existsSync(join(V1_CPU, 'cpu.cfs_quota_us'))) return undefined;
    const group = join(V1_CPU, name);
    await mkdir(group, { recursive: true });
    await writeFile(join(group, 'cpu.cfs_period_us'), String(PERIOD_US));
    await writeFile(join(group, 'cpu.cfs_quota_us'), String(quota));
    return join(group, 'cgroup.procs');
  } catch {
    return undefined;
  }
};

/**
 * An executable that joins `memoryMb`'s CPU share and then runs Lambda's
 * bootstrap (the stand-in) with its arguments; undefined where no cgroup can
 * be made. At or above MB_PER_VCPU, the bootstrap itself (a full core).
 */
export const cpuShareBootstrap = async (memoryMb: number, dir: string): Promise<string | undefined> => {
  if (memoryMb >= MB_PER_VCPU) return LAMBDA_BOOTSTRAP;
  const procs = await makeGroup(`rpm-cache-bench-${memoryMb}mb`, memoryMb / MB_PER_VCPU);
  if (procs === undefined) return undefined;
  const wrapper = join(dir, `bootstrap-${memoryMb}mb.sh`);
  await writeFile(wrapper, `#!/bin/sh\necho $$ > '${procs}'\nexec '${LAMBDA_BOOTSTRAP}' "$@"\n`);
  await chmod(wrapper, 0o755);
  return wrapper;
};
