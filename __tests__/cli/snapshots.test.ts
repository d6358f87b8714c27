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
import { fetchListing, repositoryPathOf } from '../../src/cli/snapshots.js';

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
  /** Paths it never answers (`hang`), or answers with a body cut short (`break`). */
  const misbehaviours = new Map<string, 'hang' | 'break'>();

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
      const misbehaviour = misbehaviours.get(request.url ?? '');
      if (misbehaviour === 'hang') return;
      if (misbehaviour === 'break') {
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        response.write('{"repository": ', () => response.destroy());
        return;
      }
      const answer = answers.get(request.url ?? '') ?? { status: 404, body: 'Not Found: no such repository\n' };
      response.writeHead(answer.status, { 'content-type': answer.type ?? 'application/json' }).end(answer.body);
    });
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    cache = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    answers.set(`/@/${REPO}`, { status: 200, body: JSON.stringify(LISTING) });
  });

  afterAll(async () => {
    server.closeAllConnections();
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

  it('reads a listing URL pasted from a browser as its repository, and repodata/ alone as the root repository', () => {
    expect(repositoryPathOf(`${cache}/@/${REPO}`, cache)).toBe(REPO);
    expect(repositoryPathOf(`@/${REPO}`, cache)).toBe(REPO);
    expect(repositoryPathOf('repodata/', cache)).toBe('');
    expect(repositoryPathOf(`${cache}/repodata/repomd.xml`, cache)).toBe('');
  });

  it('asks /@/repodata/ for the root repository', async () => {
    answers.set('/@/repodata/', { status: 200, body: JSON.stringify({ repository: '', snapshots: [] }) });
    expect((await run('--cache', cache, 'repodata/')).code).toBe(0);
    expect(asked.map(({ url }) => url)).toEqual(['/@/repodata/']);
  });

  it('reads a URL under the cache as the path under it, decoded once, and a path as it is', () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z0-9._+^~%é-]{1,8}$/), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        (segments, slash) => {
          fc.pre(
            segments.every((segment) => segment !== 'repodata' && segment !== '.' && segment !== '..') &&
              !segments[0]?.startsWith('@'),
          );
          const path = segments.join('/');
          const end = slash ? '/' : '';
          expect(repositoryPathOf(`${cache}/${segments.map(encodeURIComponent).join('/')}${end}`, cache)).toBe(
            `${path}/`,
          );
          expect(repositoryPathOf(`${path}${end}`, cache)).toBe(`${path}/`);
        },
      ),
    );
    expect(() => repositoryPathOf(`https://elsewhere.example/${REPO}`, cache)).toThrow('is not under the cache');
  });

  it('asks for a URL argument’s repository encoded once, and prints each baseurl as a URL', async () => {
    // Prepare
    const repository = 'pub/c++/1.0^x/';
    const listing = {
      repository,
      snapshots: [{ ...LISTING.snapshots[0], path: `/@20261120T120000Z/${repository}` }],
    };
    answers.set('/@/pub/c%2B%2B/1.0%5Ex/', { status: 200, body: JSON.stringify(listing) });

    // Act
    const { code, stdout } = await run('--cache', cache, `${cache}/pub/c%2B%2B/1.0%5Ex/repodata/repomd.xml`);

    // Assess
    expect(code).toBe(0);
    expect(asked.map(({ url }) => url)).toEqual(['/@/pub/c%2B%2B/1.0%5Ex/']);
    expect(stdout).toContain(`  ${cache}/@20261120T120000Z/pub/c++/1.0%5Ex/\n`);
  });

  it('refuses a path the cache would refuse, or a URL it cannot read, with exit 2 and sends nothing', async () => {
    const refused: [string, string][] = [
      ['pub//fedora/x86_64/', 'path has an empty segment'],
      ['pub/fedora/../x86_64/', 'path has a "." or ".." segment'],
      ['pub\\fedora/x86_64/', 'path contains a backslash'],
      ['pub/\u0007/', 'path contains control characters'],
      [`pub/${'a'.repeat(1100)}/`, 'path is too long'],
      [`${cache}/${REPO}?arch=x86_64`, 'has a query or fragment'],
      [`${cache}/pub/%E0/`, 'has a malformed %-escape'],
      [`${cache.replace('127.0.0.1', 'localhost')}/${REPO}`, 'is not under the cache'],
      ['http://[nonsense/', 'is not a URL'],
    ];
    for (const [argument, message] of refused) {
      const { code, stderr } = await run('--cache', cache, argument);

      expect({ argument, code, stderr }).toEqual({ argument, code: 2, stderr: expect.stringContaining(message) });
    }
    expect(asked).toEqual([]);
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

  it('exits 1, not a crash, when the listing lacks a field the table needs or has one of the wrong type', async () => {
    // Prepare
    const [current] = LISTING.snapshots;
    const odd = [
      { ...current, repomdSha256: undefined },
      { ...current, current: 'yes' },
      { ...current, until: 20261120 },
    ];
    for (const [index, snapshot] of odd.entries()) {
      answers.set(`/@/pub/odd${index}/`, {
        status: 200,
        body: JSON.stringify({ repository: `pub/odd${index}/`, snapshots: [snapshot] }),
      });
    }

    for (const index of odd.keys()) {
      // Act
      const plain = await run('--cache', cache, `pub/odd${index}/`);
      const json = await run('--cache', cache, '--json', `pub/odd${index}/`);

      // Assess
      expect(plain.code).toBe(1);
      expect(plain.stderr).toContain(`${cache}/@/pub/odd${index}/ did not answer with a listing of snapshots`);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout)).toEqual({ error: expect.stringContaining('did not answer with a listing') });
    }
  });

  it('exits 1 saying so when the listing breaks off', async () => {
    misbehaviours.set('/@/pub/broken/', 'break');

    const { code, stderr } = await run('--cache', cache, 'pub/broken/');

    expect(code).toBe(1);
    expect(stderr).toContain(`${cache}/@/pub/broken/ answered HTTP 200, then broke off: `);
  });

  it('gives up on a cache that does not answer after its timeout, and says how long it waited', async () => {
    misbehaviours.set('/@/pub/silent/', 'hang');
    const started = Date.now();

    await expect(fetchListing(cache, 'pub/silent/', { timeoutMs: 300 })).rejects.toThrow(
      `cannot reach the cache at ${cache}: no answer within 0.3 s`,
    );
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it.each([[[]], [['--json']]])('exits 130 on Ctrl-C while the cache has not answered (%j)', async (flags) => {
    // Prepare
    misbehaviours.set('/@/pub/slow/', 'hang');
    const stdout = new Captured();
    const stderr = new Captured();
    const interrupt = new AbortController();
    setTimeout(() => interrupt.abort(), 100);

    // Act
    const code = await runCli(['snapshots', '--cache', cache, ...flags, 'pub/slow/'], {
      stdout,
      stderr,
      env: {},
      signal: interrupt.signal,
    });

    // Assess
    expect(code).toBe(130);
    expect(stderr.text).toBe('rpm-cache: interrupted before the cache answered\n');
    expect(stdout.text === '' ? undefined : JSON.parse(stdout.text)).toEqual(
      flags.length === 0 ? undefined : { error: 'interrupted before the cache answered' },
    );
  });
});
