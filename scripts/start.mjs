// `npm start`: bundles the local stack (src/local/main.ts and the Lambda code it
// runs) with esbuild, leaving node_modules packages external, then runs it.
import { mkdir } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const USAGE = `Usage: npm start [-- --help]

Runs the local stack: the handler behind an API Gateway or Function URL stand-in (FRONT_DOOR),
the uploader behind a local Lambda Invoke endpoint, and an embedded S3 server, until Ctrl-C
(SIGINT) or SIGTERM.

Variables it honours (see docs/configuration.md):
  ORIGIN_HOST               the origin (default dl.fedoraproject.org; http://127.0.0.1:8081 for a local one)
  ORIGINS                   named origins and their mirrors: 'name=url[,mirror...] ...'
  CACHE_EXTENSIONS          cacheable suffixes (default .rpm)
  PRESIGNED_URL_EXPIRATION  seconds (default 3600)
  ORIGIN_HEAD_TIMEOUT       seconds (default 5)
  ORIGIN_OFFLINE_PERIOD     seconds the origin is assumed offline after a HEAD timeout (default 300)
  ORIGIN_LOST_TTL           seconds a lost file is served without asking (default 3600)
  SENTRY_DSN                report errors to Sentry
  SNAPSHOT_HISTORY_DAYS     days a superseded snapshot stays at /@<time>/ (default 90; 0 for ever)
  SNAPSHOT_REPOSITORIES     repository paths checked on a schedule (each ending in /)
  SNAPSHOT_EVERY_MINUTES    minutes between those checks (default 60)
  MIRROR_REPOSITORIES       repository paths whose every new snapshot is mirrored whole (docs/mirroring.md)
  MIRROR_CONCURRENCY        mirror uploads at once (default 5)
  RESCUE_URLS               archive URL templates for files the origin lost (docs/mirroring.md)
  METALINK_URL              answer /metalink and /mirrorlist from this mirror manager (docs/metalink.md)
  METALINK_ANSWER_TTL       seconds its answers are kept per container (default 60; 0: never)
  UPLOAD_REFUSAL_TTL        seconds a refused origin copy is not downloaded again (default 86400; 0: off)
  HOST, PORT                where it listens (default 127.0.0.1, 8080)
  FRONT_DOOR                the events the handler gets: http-api (default) or function-url
  RPM_CACHE_DATA_DIR        the embedded S3 server's data (default .rpm-cache; delete it to start empty)
  AWS_ENDPOINT_URL_S3       use this S3-compatible store instead of the embedded one
  LOG_FORMAT                json for JSON lines on a terminal too (readable lines by default there)
`;

const [argument] = process.argv.slice(2);
if (argument === '--help' || argument === '-h') {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (argument !== undefined) {
  process.stderr.write(`npm start: unknown argument ${JSON.stringify(argument)}\n\n${USAGE}`);
  process.exit(2);
}

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
