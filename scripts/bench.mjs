// `npm run bench`: builds the Lambda bundles, bundles the benchmark and its worker
// (packages external), then runs it.
import { mkdir } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

await import('../esbuild.config.mjs');

const outdir = 'node_modules/.cache/rpm-cache/bench';
await mkdir(outdir, { recursive: true });
await build({
  entryPoints: { 'upload-memory': 'bench/upload-memory.ts', 'upload-worker': 'bench/upload-worker.ts' },
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  packages: 'external',
  format: 'esm',
  platform: 'node',
  target: 'node24',
  logLevel: 'warning',
});
process.env.BENCH_WORKER = `${outdir}/upload-worker.mjs`;
await import(pathToFileURL(`${outdir}/upload-memory.mjs`).href);
