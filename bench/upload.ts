/**
 * Section 3: uploader throughput and memory, with real RPMs from the local
 * origin into the local S3: wall time against the slower of a plain download
 * and a bare lib-storage upload of the same bytes, and the peak RSS of each,
 * every transfer in a process of its own with the image's environment.
 */
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LAMBDA_BOOTSTRAP, lambdaStartEnvironment } from '../__tests__/helpers/lambda-start.js';
import { FUNCTION_SIZES } from '../infra/lib/function-sizes.js';
import { S3RVER_CREDENTIALS } from '../src/local/s3-server.js';
import { startEmbeddedS3 } from '../src/local/stack.js';
import { benchRpm } from './rpms.js';
import { urlOf } from './servers.js';
import { median, type Row } from './stats.js';

const run = promisify(execFile);
const SIZES_MB = (process.env.BENCH_UPLOAD_SIZES_MB ?? '10 200 1024').split(/\s+/).map(Number);
const MAX_RSS_MB = 160;
const MAX_WALL_RATIO = 1.3;
/**
 * Uploader runs per file that fills the pipeline: its peak RSS moves by about
 * ±10 MB from run to run (garbage collection timing), so the median is judged.
 */
const UPLOADER_ROUNDS = Number(process.env.BENCH_UPLOADER_ROUNDS ?? 3);
/** Files from this size fill the pipeline (4 parts of 5 MiB in flight): memory and wall must not depend on size past it. */
const FLAT_FROM_MB = 200;

export interface LocalStore {
  readonly endpoint: string;
  close(): Promise<void>;
}

/** The local stack's store (s3rver behind the conditional-write proxy) in a temporary directory. */
export const startStore = async (bucket: string): Promise<LocalStore> => {
  const directory = await mkdtemp(join(tmpdir(), 'rpm-cache-bench-s3-'));
  const store = await startEmbeddedS3(directory, bucket);
  return {
    endpoint: store.endpoint,
    close: async () => {
      await store.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
};

/** Serves files from disk by file name anywhere under /pub/, counting GETs per name. */
export const startFileOrigin = async (files: readonly string[]) => {
  const byName = new Map(files.map((file) => [basename(file), file]));
  const gets = new Map<string, number>();
  const server: Server = createServer(async (request, response) => {
    const name = basename(decodeURIComponent(request.url ?? '/'));
    const file = byName.get(name);
    if (file === undefined) {
      response.writeHead(404).end();
      return;
    }
    const { size } = await stat(file);
    response.writeHead(200, { 'content-length': String(size) });
    if (request.method === 'HEAD') {
      response.end();
      return;
    }
    gets.set(name, (gets.get(name) ?? 0) + 1);
    createReadStream(file).pipe(response);
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  return { url: urlOf(server), gets, close: () => server.close() };
};

export const workerEnv = (origin: string, store: string, extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH ?? '',
  // As Lambda starts the uploader: the image's ENV and the bootstrap's heap flags for its memory size.
  ...lambdaStartEnvironment(FUNCTION_SIZES.uploader.memoryMb),
  ORIGIN_HOST: origin,
  S3_BUCKET_NAME: 'bench',
  AWS_ENDPOINT_URL_S3: store,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
  POWERTOOLS_METRICS_DISABLED: 'true',
  BENCH_UPLOADER_BUNDLE: resolve('dist/uploader.mjs'),
  ...extra,
});

export interface Transfer {
  readonly outcome: string;
  readonly seconds: number;
  /** CPU time of the whole process (user + system), start-up included. */
  readonly cpuSeconds: number;
  readonly maxRssMiB: number;
}

/** What one uploader run of a file size measured (medians), for the memory model. */
export interface UploaderFigures {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly maxRssMiB: number;
}

export const runTransfer = async (workerPath: string, env: Record<string, string>): Promise<Transfer> => {
  const { stdout } = await run(LAMBDA_BOOTSTRAP, [workerPath], { env, maxBuffer: 64 * 1024 * 1024, timeout: 900_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Transfer;
};

export const measureUploads = async (
  workerPath: string,
): Promise<{ rows: Row[]; uploaderSeconds: Map<number, number>; uploader: Map<number, UploaderFigures> }> => {
  const files = [];
  for (const size of SIZES_MB) files.push(await benchRpm(size));
  const origin = await startFileOrigin(files);
  const store = await startStore('bench');
  const rows: Row[] = [];
  const peaks: number[] = [];
  const uploaderSeconds = new Map<number, number>();
  const uploaderFigures = new Map<number, UploaderFigures>();
  const s3 = new S3Client({
    endpoint: store.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { ...S3RVER_CREDENTIALS },
  });
  try {
    for (const [index, file] of files.entries()) {
      const path = `pub/${basename(file)}`;
      const measured: Record<string, Transfer> = {};
      for (const mode of ['download', 'bare-upload']) {
        measured[mode] = await runTransfer(
          workerPath,
          workerEnv(origin.url, store.endpoint, { BENCH_MODE: mode, BENCH_PATH: path }),
        );
      }
      // A small file is over before the pipeline fills: start-up (bundle import, claim) dominates its wall time.
      const judged = (SIZES_MB[index] ?? 0) >= FLAT_FROM_MB;
      const runs: Transfer[] = [];
      for (let round = 0; round < (judged ? UPLOADER_ROUNDS : 1); round += 1) {
        runs.push(
          await runTransfer(
            workerPath,
            workerEnv(origin.url, store.endpoint, { BENCH_MODE: 'uploader', BENCH_PATH: path }),
          ),
        );
        // The next run caches the file again.
        await s3.send(new DeleteObjectCommand({ Bucket: 'bench', Key: `cache/${path}` }));
      }
      const rss = runs.map((run) => run.maxRssMiB);
      const uploader: Transfer = {
        outcome: runs.every((run) => run.outcome === 'stored') ? 'stored' : runs.map((run) => run.outcome).join('/'),
        seconds: median(runs.map((run) => run.seconds)),
        cpuSeconds: median(runs.map((run) => run.cpuSeconds)),
        maxRssMiB: median(rss),
      };
      const rounds = runs.length > 1 ? ` (uploader: median of ${runs.length})` : '';
      const spread = runs.length > 1 ? `runs ${Math.min(...rss).toFixed(0)}–${Math.max(...rss).toFixed(0)} MB; ` : '';
      const slower = Math.max(measured.download?.seconds ?? 0, measured['bare-upload']?.seconds ?? 0);
      if (judged) peaks.push(uploader.maxRssMiB);
      uploaderSeconds.set(SIZES_MB[index] ?? 0, uploader.seconds);
      uploaderFigures.set(SIZES_MB[index] ?? 0, uploader);
      const size = `${SIZES_MB[index]} MiB RPM`;
      const wallRatio = uploader.seconds / slower;
      rows.push({
        section: 'uploader',
        figure: `${size}: wall vs the slower of plain download / bare upload (verification on)${rounds}`,
        value: `${wallRatio.toFixed(2)}× (${uploader.seconds.toFixed(2)} s vs ${measured.download?.seconds.toFixed(2)} / ${measured['bare-upload']?.seconds.toFixed(2)} s), ${uploader.outcome}`,
        goal: judged ? `≤ ${MAX_WALL_RATIO}×, stored` : 'stored (start-up dominates)',
        holds: uploader.outcome === 'stored' && (!judged || wallRatio <= MAX_WALL_RATIO),
      });
      rows.push({
        section: 'uploader',
        figure: `${size}: peak RSS uploader (download / bare upload)${rounds}`,
        value: `${uploader.maxRssMiB.toFixed(0)} MB (${spread}${measured.download?.maxRssMiB.toFixed(0)} / ${measured['bare-upload']?.maxRssMiB.toFixed(0)} MB)`,
        goal: `≤ ${MAX_RSS_MB} MB`,
        holds: uploader.maxRssMiB <= MAX_RSS_MB,
      });
    }
    // Growth needs two files that fill the pipeline; a partial run (BENCH_UPLOAD_SIZES_MB) may have fewer.
    if (peaks.length >= 2) {
      const growth = Math.max(...peaks) - Math.min(...peaks);
      rows.push({
        section: 'uploader',
        figure: `peak RSS growth between the files that fill the upload pipeline (≥ ${FLAT_FROM_MB} MiB)`,
        value: `${growth.toFixed(0)} MB`,
        goal: 'flat (≤ 20 MB)',
        holds: growth <= 20,
      });
    }
    return { rows, uploaderSeconds, uploader: uploaderFigures };
  } finally {
    s3.destroy();
    origin.close();
    await store.close();
  }
};
