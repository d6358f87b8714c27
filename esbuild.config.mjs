// Bundles each Lambda with all its dependencies into one ESM file for Node 24.
// Code splitting keeps Sentry in a chunk of its own, loaded only when SENTRY_DSN is set;
// dist/index.mjs loads only the Lambda that LAMBDA_HANDLER names.
import { chmod, copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { build } from 'esbuild';

/**
 * `import … from 'node:http'` in an ES module makes Node build the module's
 * ESM facade, which reads every export, among them the lazy WebSocket ones,
 * and so loads undici: ~20 ms at init (@middy/util imports STATUS_CODES that
 * way), or at the first request (the SDK's credential providers import() it).
 * Loaded with require() it costs ~3 ms.
 */
const nodeHttpThroughRequire = {
  name: 'node-http-through-require',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^(node:)?http$/ }, ({ kind }) =>
      kind === 'import-statement' || kind === 'dynamic-import'
        ? { path: 'node:http', namespace: 'node-http-through-require' }
        : undefined,
    );
    pluginBuild.onLoad({ filter: /.*/, namespace: 'node-http-through-require' }, () => ({
      contents: "module.exports = require('node:http');",
      loader: 'js',
    }));
  },
};

/** How a Lambda bundle is built; the benchmark builds its bare-SDK references the same way. */
export const LAMBDA_BUNDLE_OPTIONS = Object.freeze({
  outExtension: { '.js': '.mjs' },
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  minify: true,
  // Node prints the source line of an uncaught error: keep it a line, not the whole bundle.
  lineLimit: 500,
  keepNames: true,
  sourcemap: true,
  legalComments: 'none',
  metafile: true,
  plugins: [nodeHttpThroughRequire],
  // Some CommonJS dependencies call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __rpmCacheCreateRequire } from 'node:module'; const require = __rpmCacheCreateRequire(import.meta.url);",
  },
});

await rm('dist', { recursive: true, force: true });

/**
 * Each Lambda is built on its own (its chunks are only what it loads later:
 * Sentry, the X-Ray SDK, credential providers). Splitting the two in one
 * build put their common code into shared chunks, which cost the uploader
 * ~13 ms more at init than the same code built alone (bench, cold start).
 */
const lambdaBuild = (entryPoints, plugins = []) =>
  build({
    ...LAMBDA_BUNDLE_OPTIONS,
    entryPoints,
    outdir: 'dist',
    chunkNames: 'chunks/[name]-[hash]',
    splitting: true,
    plugins: [...LAMBDA_BUNDLE_OPTIONS.plugins, ...plugins],
  });

/** dist/index.mjs loads the Lambda bundles themselves rather than a copy of either. */
const lambdaBundlesExternal = {
  name: 'lambda-bundles-external',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^\.\/(handler\/handler|uploader\/uploader)\.js$/ }, ({ path }) => ({
      path: `./${path.split('/').at(-1)?.replace(/\.js$/, '.mjs')}`,
      external: true,
    }));
  },
};

/**
 * The uploader's SQS sender is a bundle of its own (dist/uploader-sqs.mjs),
 * loaded at the first mirrored snapshot: in the uploader's graph the SQS
 * client's protocol code lands in chunks loaded at init, since the
 * @smithy/core barrel that S3 imports re-exports it (bench, cold start).
 */
const sqsSenderExternal = {
  name: 'sqs-sender-external',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^\.\/mirror\/sqs-sender\.js$/ }, () => ({
      path: './uploader-sqs.mjs',
      external: true,
    }));
  },
};

// One after the other: builds may write the same chunk (same content, same name).
const lambdas = [
  await lambdaBuild({ handler: 'src/handler/handler.ts' }),
  await lambdaBuild({ uploader: 'src/uploader/uploader.ts' }, [sqsSenderExternal]),
  await lambdaBuild({ 'uploader-sqs': 'src/uploader/mirror/sqs-sender.ts' }),
  await lambdaBuild({ index: 'src/index.ts' }, [lambdaBundlesExternal]),
];
const metafile = {
  inputs: Object.assign({}, ...lambdas.map((result) => result.metafile.inputs)),
  outputs: Object.assign({}, ...lambdas.map((result) => result.metafile.outputs)),
};

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

// The image's AWS_LAMBDA_EXEC_WRAPPER, beside the bundles in LAMBDA_TASK_ROOT (see the file and the Dockerfile).
await copyFile('src/lambda-exec-wrapper.sh', 'dist/lambda-exec-wrapper.sh');
await chmod('dist/lambda-exec-wrapper.sh', 0o755);

// What each bundle imports and from which packages, for the tests (kept out of dist/ and the image).
await mkdir('.build', { recursive: true });
await writeFile('.build/metafile.json', JSON.stringify(metafile));

for (const [file, output] of Object.entries({ ...metafile.outputs, ...cli.metafile.outputs })) {
  if (!file.endsWith('.map')) console.log(`${file}\t${(output.bytes / 1024).toFixed(0)} KiB`);
}
