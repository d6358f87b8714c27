/**
 * Entry point of `rpm-cache` (`dist/cli.mjs`): runs the command line on this
 * process's arguments and streams; the first Ctrl-C (or SIGTERM) stops new
 * requests and prints the summary so far.
 */
import { runCli } from './cli/main.js';

// A reader that stops early (`| head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

const interrupt = new AbortController();
const stop = () => interrupt.abort();
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: interrupt.signal,
});
