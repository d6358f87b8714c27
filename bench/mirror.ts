/**
 * Section: mirroring on snapshot. A repository of 200 RPMs in
 * MIRROR_REPOSITORIES of the local stack (the uploader's fan-out through the
 * local queue and its event source mapping, MIRROR_CONCURRENCY 10), from one
 * request for repomd.xml until every upload has ended: the wall time, the
 * origin's peak of concurrent RPM downloads (at most the bound), its
 * downloads (one per RPM listed) and files downloaded twice (none).
 */
import { fork } from 'node:child_process';
import type { MirrorMeasurement } from './mirror-worker.js';
import type { Row } from './stats.js';

/** 200 RPMs of ~70 KB, each sent over 100 ms, ten at a time: 2 s of downloads at best; the rest is the stack's. */
const MAX_WALL_S = 30;

const measure = (workerPath: string): Promise<MirrorMeasurement> =>
  new Promise((resolve, reject) => {
    const worker = fork(workerPath, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    let measured: MirrorMeasurement | undefined;
    worker.on('message', (message) => {
      measured = message as MirrorMeasurement;
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (measured !== undefined) resolve(measured);
      else reject(new Error(`the mirror worker exited ${code} without a measurement`));
    });
  });

export const measureMirror = async (workerPath: string): Promise<Row[]> => {
  const { rpms, bound, wallMs, peakDownloads, downloads, twice, stored } = await measure(workerPath);
  const seconds = wallMs / 1000;
  return [
    {
      section: 'mirror',
      figure: `mirroring a repository of ${rpms} RPMs on its snapshot (MIRROR_CONCURRENCY ${bound}): wall, request to last upload`,
      value: `${seconds.toFixed(1)} s (${stored} of ${rpms} stored)`,
      goal: `≤ ${MAX_WALL_S} s, all stored`,
      holds: seconds <= MAX_WALL_S && stored === rpms,
    },
    {
      section: 'mirror',
      figure: 'peak concurrent RPM downloads at the origin',
      value: String(peakDownloads),
      goal: `≤ ${bound} (the bound)`,
      holds: peakDownloads <= bound && peakDownloads > 0,
    },
    {
      section: 'mirror',
      figure: 'origin downloads, and RPMs downloaded twice',
      value: `${downloads}, ${twice} twice`,
      goal: `${rpms} (one per RPM listed), 0 twice`,
      holds: downloads === rpms && twice === 0,
    },
  ];
};
