/**
 * What the command line says before it sends anything: usage lines that
 * show what is required, and a cache address without a scheme (#29).
 */
import { Writable } from 'node:stream';
import { runCli } from '../../src/cli/main.js';

class Captured extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString('utf8');
    callback();
  }
}

const cli = async (argv: readonly string[], env: Record<string, string> = {}) => {
  const stdout = new Captured();
  const stderr = new Captured();
  const code = await runCli(argv, { stdout, stderr, env });
  return { code, stdout: stdout.text, stderr: stderr.text };
};

describe('rpm-cache usage', () => {
  it('shows in the rewrite synopsis that --origins or --origin-host is required', async () => {
    const { code, stdout } = await cli(['rewrite', '--help']);

    expect(code).toBe(0);
    expect(stdout).toContain(
      'Usage: rpm-cache rewrite --cache <url> (--origins <entries> | --origin-host <url> | both) [--in-place | --check] <lockfile...>',
    );
  });

  it.each([
    ['warm', 'Usage: rpm-cache warm --cache <url> [--origins <entries>] [--origin-host <url>]'],
    ['mirror', 'Usage: rpm-cache mirror --cache <url> [--at <time>]'],
    ['snapshots', 'Usage: rpm-cache snapshots --cache <url> [--json] <repository>'],
  ])('shows the cache URL in the %s synopsis', async (command, usage) => {
    const { stdout } = await cli([command, '--help']);

    expect(stdout).toContain(usage);
  });

  it.each([
    [
      ['--cache', '127.0.0.1:18080'],
      {},
      '--cache "127.0.0.1:18080" has no scheme: did you mean http://127.0.0.1:18080?',
    ],
    [['--cache', 'localhost:8080'], {}, '--cache "localhost:8080" has no scheme: did you mean http://localhost:8080?'],
    [
      ['--cache', 'abc123.execute-api.eu-west-1.amazonaws.com/prod'],
      {},
      '--cache "abc123.execute-api.eu-west-1.amazonaws.com/prod" has no scheme: did you mean https://abc123.execute-api.eu-west-1.amazonaws.com/prod?',
    ],
    [
      [],
      { RPM_CACHE_URL: '127.0.0.1:18080' },
      'RPM_CACHE_URL "127.0.0.1:18080" has no scheme: did you mean http://127.0.0.1:18080?',
    ],
  ])('suggests a scheme for %j %j, exit 2', async (args, env, message) => {
    const { code, stdout, stderr } = await cli(['warm', ...args, 'rpms.lock.yaml'], env);

    expect(code).toBe(2);
    expect(stderr).toBe(`rpm-cache: ${message}\n`);
    expect(stdout).toBe('');
  });

  it('keeps refusing a URL of another scheme as such', async () => {
    const { code, stderr } = await cli(['snapshots', '--cache', 'ftp://cache.example', 'pub/']);

    expect(code).toBe(2);
    expect(stderr).toBe(
      'rpm-cache: --cache "ftp://cache.example" must be an http(s) base URL without query or fragment\n',
    );
  });

  it('answers a usage error of snapshots --json with a JSON document too', async () => {
    const { code, stdout } = await cli(['snapshots', '--json', '--cache', '127.0.0.1:18080', 'pub/']);

    expect(code).toBe(2);
    expect(JSON.parse(stdout)).toEqual({
      error: '--cache "127.0.0.1:18080" has no scheme: did you mean http://127.0.0.1:18080?',
    });
  });
});
