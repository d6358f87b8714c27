// `npm start`: bundles the local stack (src/local/main.ts and the Lambda code it
// runs) with esbuild, leaving node_modules packages external, then runs it.
import { mkdir } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const outfile = 'node_modules/.cache/rpm-cache/local-stack.mjs';
await mkdir('node_modules/.cache/rpm-cache', { recursive: true });
await build({
  entryPoints: ['src/local/main.ts'],
  outfile,
  bundle: true,
  packages: 'external',
  format: 'esm',
  platform: 'node',
  target: 'node24',
  sourcemap: 'inline',
  logLevel: 'warning',
});
await import(pathToFileURL(outfile).href);
