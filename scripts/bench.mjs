// `npm run bench`: builds the Lambda bundles, the bare-SDK references (with the
// same esbuild settings) and the benchmark itself (packages external), then runs it.
import { mkdir } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const USAGE = `Usage: npm run bench [-- --save]

Measures every performance figure against its goal in one run (about 6 to 7 minutes on 2 cores)
and prints one table; exits 0 unless it could not measure. See docs/performance.md.

  --save    after a full run, also write the table to bench/results.md and docs/performance.md
            (tracked files); without it the results go to node_modules/.cache/rpm-cache/bench/results.md

Variables:
  BENCH_ONLY=latency,cold-start,upload,snapshot,burst,time-travel,mirror   run some sections (default: all)
  BENCH_ORIGIN_MS, BENCH_S3_MS, BENCH_INVOKE_MS          injected latencies (default 40, 10, 15)
  BENCH_UPLOAD_SIZES_MB                                  RPM sizes for the uploader (default "10 200 1024")
  BENCH_UPLOADER_ROUNDS, BENCH_COLD_ROUNDS, BENCH_LATENCY_REQUESTS   repetitions (default 3, 15, 200)

The uploader figures need rpmbuild (apt-get install -y rpm). The RPMs and the repository it
builds (about 1.5 GB) stay in node_modules/.cache/rpm-cache/ for the next run; remove them with
rm -rf node_modules/.cache/rpm-cache.
`;

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const unknown = args.find((argument) => argument !== '--save');
if (unknown !== undefined) {
  process.stderr.write(`npm run bench: unknown argument ${JSON.stringify(unknown)}\n\n${USAGE}`);
  process.exit(2);
}
if (args.includes('--save')) process.env.BENCH_SAVE = '1';

const { LAMBDA_BUNDLE_OPTIONS } = await import('../esbuild.config.mjs');

const outdir = 'node_modules/.cache/rpm-cache/bench';
await mkdir(outdir, { recursive: true });
await build({
  ...LAMBDA_BUNDLE_OPTIONS,
  entryPoints: { 'bare-handler': 'bench/bare-handler.ts', 'bare-uploader': 'bench/bare-uploader.ts' },
  outdir: `${outdir}/bare`,
  metafile: false,
  logLevel: 'warning',
});
await build({
  entryPoints: {
    main: 'bench/main.ts',
    'latency-worker': 'bench/latency-worker.ts',
    'upload-worker': 'bench/upload-worker.ts',
    'time-travel-worker': 'bench/time-travel-worker.ts',
    'mirror-worker': 'bench/mirror-worker.ts',
  },
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  packages: 'external',
  format: 'esm',
  platform: 'node',
  target: 'node24',
  logLevel: 'warning',
});
process.env.BENCH_DIR = outdir;
await import(pathToFileURL(`${outdir}/main.mjs`).href);
