/**
 * `rpm-cache snapshots` against a real HTTP server standing in for the
 * cache's listing (the end-to-end time-travel test runs it against the local
 * stack): the table, --json, how a repository argument is read, and every
 * failure with its exit status.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { type CliIo, runCli } from '../../src/cli/main.js';
import { repositoryPathOf } from '../../src/cli/snapshots.js';

const REPO = 'pub/fedora/linux/updates/44/Everything/x86_64/';
const LISTING = {
  repository: REPO,
  snapshots: [
    {
      time: '20261120T120000Z',
      current: true,
      revision: '1763640000',
      repomdSha256: 'a'.repeat(64),
      checkedAt: '20261121T060000Z',
      path: `/@20261120T120000Z/${REPO}`,
    },
    {
      time: '20261110T120000Z',
      current: false,
      until: '20261120T120000Z',
      revision: '1762776000',
      repomdSha256: 'b'.repeat(64),
      path: `/@20261110T120000Z/${REPO}`,
    },
  ],
};

class Captured extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString('utf8');
    callback();
  }
}

describe('rpm-cache snapshots', () => {
  let server: Server;
  let cache: string;
  const asked: { url: string; accept: string | undefined }[] = [];
  /** What the stand-in answers, by path: status and body. */
  const answers = new Map<string, { status: number; body: string; type?: string }>();

  const run = async (...argv: string[]) => {
    const stdout = new Captured();
    const stderr = new Captured();
    const io: CliIo = { stdout, stderr, env: {} };
    const code = await runCli(['snapshots', ...argv], io);
    return { code, stdout: stdout.text, stderr: stderr.text };
  };

  beforeAll(async () => {
    server = createServer((request: IncomingMessage, response) => {
      asked.push({ url: request.url ?? '', accept: request.headers.accept });
      const answer = answers.get(request.url ?? '') ?? { status: 404, body: 'Not Found: no such repository\n' };
      response.writeHead(answer.status, { 'content-type': answer.type ?? 'application/json' }).end(answer.body);
    });
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    cache = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    answers.set(`/@/${REPO}`, { status: 200, body: JSON.stringify(LISTING) });
  });

  afterAll(async () => {
    await new Promise((closed) => server.close(closed));
  });

  beforeEach(() => {
    asked.length = 0;
  });

  it('asks the listing for JSON and prints a table, newest first, each with its baseurl', async () => {
    const { code, stdout } = await run('--cache', cache, REPO);

    expect(code).toBe(0);
    expect(asked).toEqual([{ url: `/@/${REPO}`, accept: 'application/json' }]);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`${REPO}: 2 snapshot(s)`);
    expect(lines[1]).toMatch(/^TIME\s+STATE\s+REVISION\s+REPOMD\s+BASEURL$/);
    expect(lines[2]).toMatch(
      new RegExp(
        `^20261120T120000Z\\s+current, checked 20261121T060000Z\\s+1763640000\\s+a{12}\\s+${cache}/@20261120T120000Z/${REPO}$`,
      ),
    );
    expect(lines[3]).toMatch(/^20261110T120000Z\s+until 20261120T120000Z\s+1762776000\s+b{12}\s+/);
  });

  it('prints the listing itself with --json', async () => {
    const { code, stdout } = await run('--cache', cache, '--json', REPO);

    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual(LISTING);
  });

  it.each([REPO, `/${REPO}`, REPO.slice(0, -1), `${REPO}repodata/`, `${REPO}repodata/repomd.xml`])(
    'reads %j as the repository',
    async (argument) => {
      expect((await run('--cache', cache, argument)).code).toBe(0);
      expect(asked.map(({ url }) => url)).toEqual([`/@/${REPO}`]);
    },
  );

  it('reads a URL under the cache as the path under it, and nothing else', () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z0-9._+-]{1,8}$/), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        (segments, slash) => {
          fc.pre(
            segments.every((segment) => segment !== 'repodata' && !segment.startsWith('@') && !/^\.+$/.test(segment)),
          );
          const path = segments.join('/');
          expect(repositoryPathOf(`${cache}/${path}${slash ? '/' : ''}`, cache)).toBe(`${path}/`);
          expect(repositoryPathOf(`${path}${slash ? '/' : ''}`, cache)).toBe(`${path}/`);
        },
      ),
    );
    expect(() => repositoryPathOf(`https://elsewhere.example/${REPO}`, cache)).toThrow('is not under the cache');
  });

  it.each([
    [[`@20261101T000000Z/${REPO}`], 'is a time-travel path'],
    [['/'], 'no repository path'],
    [[], "missing required argument 'repository'"],
  ])('refuses %j with exit 2 and sends nothing', async (argv, message) => {
    const { code, stderr } = await run('--cache', cache, ...argv);

    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(asked).toEqual([]);
  });

  it('exits 1 with the cache’s reason when it has no snapshot of the repository; --json says it as JSON', async () => {
    const plain = await run('--cache', cache, 'pub/never/');
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain(`${cache}/@/pub/never/ answered HTTP 404: Not Found: no such repository`);

    const json = await run('--cache', cache, '--json', 'pub/never/');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({ error: expect.stringContaining('answered HTTP 404') });
  });

  it('exits 1 naming the address when the cache cannot be reached, and when what answers is not a listing', async () => {
    // A port nothing listens on any more.
    const closed = createServer();
    await new Promise<void>((listening) => closed.listen(0, '127.0.0.1', listening));
    const { port } = closed.address() as AddressInfo;
    await new Promise((done) => closed.close(done));
    const dead = await run('--cache', `http://127.0.0.1:${port}`, REPO);
    expect(dead.code).toBe(1);
    expect(dead.stderr).toContain(
      `cannot reach the cache at http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`,
    );

    answers.set('/@/pub/html/', { status: 200, body: '<html>a web server</html>', type: 'text/html' });
    const html = await run('--cache', cache, 'pub/html/');
    expect(html.code).toBe(1);
    expect(html.stderr).toContain('did not answer with a listing (not JSON)');
  });
});
