// `npm run bench`: builds the Lambda bundles, the bare-SDK references (with the
// same esbuild settings) and the benchmark itself (packages external), then runs it.
import { mkdir } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

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
