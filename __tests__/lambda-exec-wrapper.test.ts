/**
 * The image's exec wrapper: what reaches node once Lambda's bootstrap has
 * put its heap flags on the command line.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const WRAPPER = resolve('src/lambda-exec-wrapper.sh');

describe('lambda-exec-wrapper.sh', () => {
  let work: string;
  let printArguments: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'rpm-cache-wrapper-'));
    // Stands in for node: prints the arguments it was given, one per line.
    printArguments = join(work, 'node');
    await writeFile(printArguments, '#!/bin/sh\nfor argument in "$@"; do echo "$argument"; done\n');
    await chmod(printArguments, 0o755);
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  const wrapped = async (...args: string[]) =>
    (await run('bash', [WRAPPER, printArguments, ...args])).stdout.split('\n').filter((line) => line !== '');

  it('drops the bootstrap’s heap flags and passes the rest in order', async () => {
    expect(
      await wrapped(
        '--expose-gc',
        '--max-http-header-size',
        '81920',
        '--max-semi-space-size=51',
        '--max-old-space-size=922',
        '/var/runtime/index.mjs',
      ),
    ).toEqual(['--expose-gc', '--max-http-header-size', '81920', '/var/runtime/index.mjs']);
  });

  it('drops both spellings, with the value joined or as the next argument', async () => {
    expect(
      await wrapped(
        '--max_old_space_size=922',
        '--max_semi_space_size',
        '51',
        '--max-old-space-size',
        '922',
        '--max-semi-space-size=51',
        '/var/runtime/index.mjs',
      ),
    ).toEqual(['/var/runtime/index.mjs']);
  });

  it('leaves everything from the script on alone, heap-looking arguments included', async () => {
    expect(await wrapped('--expose-gc', '/var/runtime/index.mjs', '--max-old-space-size=1', 'index.handler')).toEqual([
      '--expose-gc',
      '/var/runtime/index.mjs',
      '--max-old-space-size=1',
      'index.handler',
    ]);
  });
});
