/**
 * Section: a repository snapshot whose listed files total at least 200 MB,
 * from the local origin into the local store: the uploader bundle's wall time
 * against the slower of a plain download and a bare lib-storage upload of the
 * same files (one after the other, as the snapshot takes them), and its peak
 * RSS, each in a process of its own with the image's environment.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { median, type Row } from './stats.js';
import { runTransfer, startFileOrigin, startStore, type Transfer, workerEnv } from './upload.js';

/** Four listed files of 56 MiB: 224 MiB, as large as Fedora's largest metadata and then some. */
const LISTED = ['primary', 'filelists', 'other', 'updateinfo'] as const;
const FILE_MIB = Number(process.env.BENCH_SNAPSHOT_FILE_MIB ?? 56);
export const REPO_DIR = resolve('node_modules/.cache/rpm-cache/bench-repo');
const MAX_RSS_MB = 160;
const MAX_WALL_RATIO = 1.3;
const ROUNDS = Number(process.env.BENCH_UPLOADER_ROUNDS ?? 3);
const REPOMD_PATH = 'pub/bench-repo/repodata/repomd.xml';

/** Writes the repository once (random listed files and their repomd.xml); returns every file. */
const benchRepository = async (): Promise<string[]> => {
  const repomd = join(REPO_DIR, 'repomd.xml');
  if (!existsSync(repomd)) {
    await rm(REPO_DIR, { recursive: true, force: true });
    await mkdir(REPO_DIR, { recursive: true });
    const entries: string[] = [];
    for (const type of LISTED) {
      const hash = createHash('sha256');
      const chunks: Buffer[] = [];
      for (let mib = 0; mib < FILE_MIB; mib += 1) {
        const chunk = randomBytes(1024 * 1024);
        hash.update(chunk);
        chunks.push(chunk);
      }
      const checksum = hash.digest('hex');
      await writeFile(join(REPO_DIR, `${checksum}-${type}.xml.gz`), Buffer.concat(chunks));
      entries.push(
        `<data type="${type}"><checksum type="sha256">${checksum}</checksum><location href="repodata/${checksum}-${type}.xml.gz"/><size>${FILE_MIB * 1024 * 1024}</size></data>`,
      );
    }
    await writeFile(
      repomd,
      `<?xml version="1.0" encoding="UTF-8"?>\n<repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>1</revision>${entries.join('')}</repomd>\n`,
    );
  }
  return (await readdir(REPO_DIR)).map((name) => join(REPO_DIR, name));
};

export const measureSnapshot = async (workerPath: string): Promise<Row[]> => {
  const files = await benchRepository();
  const listed = files.filter((file) => !file.endsWith('repomd.xml'));
  const listedPaths = listed.map((file) => `pub/bench-repo/repodata/${file.slice(REPO_DIR.length + 1)}`).join(' ');
  const origin = await startFileOrigin(files);
  try {
    const measured: Record<string, Transfer> = {};
    // One store per run: a snapshot already current would end `already-current` at once.
    for (const mode of ['download', 'bare-upload']) {
      const store = await startStore('bench');
      try {
        measured[mode] = await runTransfer(
          workerPath,
          workerEnv(origin.url, store.endpoint, { BENCH_MODE: mode, BENCH_PATHS: listedPaths }),
        );
      } finally {
        await store.close();
      }
    }
    const runs: Transfer[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const store = await startStore('bench');
      try {
        runs.push(
          await runTransfer(
            workerPath,
            workerEnv(origin.url, store.endpoint, { BENCH_MODE: 'uploader', BENCH_PATH: REPOMD_PATH }),
          ),
        );
      } finally {
        await store.close();
      }
    }
    const outcome = runs.every((run) => run.outcome === 'stored') ? 'stored' : runs.map((run) => run.outcome).join('/');
    const seconds = median(runs.map((run) => run.seconds));
    const rss = runs.map((run) => run.maxRssMiB);
    const peak = median(rss);
    const slower = Math.max(measured.download?.seconds ?? 0, measured['bare-upload']?.seconds ?? 0);
    const size = `snapshot of ${LISTED.length} listed files, ${LISTED.length * FILE_MIB} MiB`;
    return [
      {
        section: 'snapshot',
        figure: `${size}: wall vs the slower of plain download / bare upload of the same files (median of ${runs.length})`,
        value: `${(seconds / slower).toFixed(2)}× (${seconds.toFixed(2)} s vs ${measured.download?.seconds.toFixed(2)} / ${measured['bare-upload']?.seconds.toFixed(2)} s), ${outcome}`,
        goal: `≤ ${MAX_WALL_RATIO}×, stored`,
        holds: outcome === 'stored' && seconds / slower <= MAX_WALL_RATIO,
      },
      {
        section: 'snapshot',
        figure: `${size}: peak RSS uploader (download / bare upload) (median of ${runs.length})`,
        value: `${peak.toFixed(0)} MB (runs ${Math.min(...rss).toFixed(0)}–${Math.max(...rss).toFixed(0)} MB; ${measured.download?.maxRssMiB.toFixed(0)} / ${measured['bare-upload']?.maxRssMiB.toFixed(0)} MB)`,
        goal: `≤ ${MAX_RSS_MB} MB (the uploader's goal)`,
        holds: peak <= MAX_RSS_MB,
      },
    ];
  } finally {
    origin.close();
  }
};
