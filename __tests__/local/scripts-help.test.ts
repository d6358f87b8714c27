/**
 * `npm start -- --help` and `npm run bench -- --help` answer with their usage
 * and exit 0, before building or starting anything; an unknown argument is a
 * usage error (exit 2).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

describe.each([
  ['scripts/start.mjs', 'Usage: npm start', ['ORIGIN_HOST', 'ORIGINS', 'PORT', 'RPM_CACHE_DATA_DIR', 'LOG_FORMAT']],
  ['scripts/bench.mjs', 'Usage: npm run bench', ['--save', 'BENCH_ONLY', 'rm -rf node_modules/.cache/rpm-cache']],
])('%s', (script, usage, mentions) => {
  it('prints its usage, with what it honours, for --help and exits 0 at once', async () => {
    // Without --help handling the stack would start (and never exit) or the bench would run for minutes.
    const { stdout } = await run(process.execPath, [script, '--help'], { timeout: 10_000 });

    expect(stdout.startsWith(usage)).toBe(true);
    for (const mention of mentions) expect(stdout).toContain(mention);
  });

  it('refuses an unknown argument with its usage, exit 2', async () => {
    await expect(run(process.execPath, [script, '--frobnicate'], { timeout: 10_000 })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining(usage),
    });
  });
});
