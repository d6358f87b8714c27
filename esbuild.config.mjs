// Bundles each Lambda with all its dependencies into one ESM file for Node 24.
// Code splitting keeps Sentry in a chunk of its own, loaded only when SENTRY_DSN is set,
// and lets dist/index.mjs load only the Lambda that LAMBDA_HANDLER names.
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { build } from 'esbuild';

/** How a Lambda bundle is built; the benchmark builds its bare-SDK references the same way. */
export const LAMBDA_BUNDLE_OPTIONS = Object.freeze({
  outExtension: { '.js': '.mjs' },
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  minify: true,
  keepNames: true,
  sourcemap: true,
  legalComments: 'none',
  metafile: true,
  // Some CommonJS dependencies call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __rpmCacheCreateRequire } from 'node:module'; const require = __rpmCacheCreateRequire(import.meta.url);",
  },
});

await rm('dist', { recursive: true, force: true });

const result = await build({
  ...LAMBDA_BUNDLE_OPTIONS,
  entryPoints: { handler: 'src/handler/handler.ts', uploader: 'src/uploader/uploader.ts', index: 'src/index.ts' },
  outdir: 'dist',
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
});

// The rpm-cache command line: one file of its own, outside the Lambdas' chunks (the image leaves it out).
const cli = await build({
  ...LAMBDA_BUNDLE_OPTIONS,
  entryPoints: { cli: 'src/cli.ts' },
  outdir: 'dist',
  // Users run it with whatever Node they have (20 or newer).
  target: 'node20',
  banner: { js: `#!/usr/bin/env node\n${LAMBDA_BUNDLE_OPTIONS.banner.js}` },
});
await chmod('dist/cli.mjs', 0o755);

// What each bundle imports and from which packages, for the tests (kept out of dist/ and the image).
await mkdir('.build', { recursive: true });
await writeFile('.build/metafile.json', JSON.stringify(result.metafile));

for (const [file, output] of Object.entries({ ...result.metafile.outputs, ...cli.metafile.outputs })) {
  if (!file.endsWith('.map')) console.log(`${file}\t${(output.bytes / 1024).toFixed(0)} KiB`);
}
