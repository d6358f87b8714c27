/**
 * MIRROR_REPOSITORIES and MIRROR_QUEUE_URL, as the uploader reads them at
 * load: which repositories it mirrors, and a ConfigError naming the
 * variable for anything it could not act on.
 */
import { ConfigError } from '../../src/commons/config.js';
import { parseMirrorConfig } from '../../src/uploader/mirror/mirror-config.js';

const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/rpm-cache-mirror';
const UPDATES = 'pub/fedora/linux/updates/44/Everything/x86_64/';
const RELEASES = 'pub/fedora/linux/releases/44/Everything/x86_64/os/';

/** The error parseMirrorConfig throws for `env` (failing the test when it throws none). */
const refusal = (env: Record<string, string | undefined>): Error => {
  try {
    parseMirrorConfig(env);
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`threw a non-Error: ${String(error)}`);
  }
  throw new Error(`parseMirrorConfig accepted ${JSON.stringify(env)}`);
};

describe('parseMirrorConfig', () => {
  it.each([
    ['unset', {}],
    ['empty', { MIRROR_REPOSITORIES: '' }],
    ['blank', { MIRROR_REPOSITORIES: '  \n ' }],
  ])('mirrors nothing when MIRROR_REPOSITORIES is %s, and needs no queue', (_name, env) => {
    expect(parseMirrorConfig(env)).toEqual({ repositories: [], queueUrl: undefined });
  });

  it('keeps the queue URL given with no repositories (the deployed function has both or neither)', () => {
    expect(parseMirrorConfig({ MIRROR_QUEUE_URL: ` ${QUEUE} ` })).toEqual({ repositories: [], queueUrl: QUEUE });
  });

  it('reads repositories separated by spaces, commas or newlines, once each, with the queue', () => {
    const config = parseMirrorConfig({
      MIRROR_REPOSITORIES: ` ${UPDATES},${RELEASES}\n${UPDATES} `,
      MIRROR_QUEUE_URL: QUEUE,
    });

    expect(config).toEqual({ repositories: [UPDATES, RELEASES], queueUrl: QUEUE });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.repositories)).toBe(true);
  });

  it.each([
    ['unset', undefined],
    ['empty', ''],
    ['blank', '   '],
  ])('refuses repositories with MIRROR_QUEUE_URL %s, naming MIRROR_QUEUE_URL', (_name, queueUrl) => {
    const error = refusal({ MIRROR_REPOSITORIES: UPDATES, MIRROR_QUEUE_URL: queueUrl });

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/^MIRROR_QUEUE_URL is required/);
    expect(error.message).toContain('MIRROR_REPOSITORIES');
  });

  it.each([
    ['no trailing slash', 'pub/fedora/linux/updates/44/Everything/x86_64', 'does not end in /'],
    ['an absolute path', '/pub/fedora/linux/updates/44/Everything/x86_64/', 'is not a path under the cache'],
    ['a URL', 'https://dl.fedoraproject.org/pub/fedora/', 'is not a path under the cache'],
    ['repodata/ itself', 'pub/fedora/linux/updates/44/Everything/x86_64/repodata/', 'names repodata/ itself'],
    ['a .. segment', 'pub/fedora/../epel/', 'has . or .. in it'],
    ['a time-travel path', '@20260101T000000Z/pub/fedora/', 'is a time-travel path'],
    ['a double slash', 'pub//fedora/', 'cannot be checked'],
  ])('refuses a repository with %s, naming MIRROR_REPOSITORIES and the entry', (_name, entry, why) => {
    // A good entry first: every entry is checked, not only the first.
    const error = refusal({ MIRROR_REPOSITORIES: `${UPDATES} ${entry}`, MIRROR_QUEUE_URL: QUEUE });

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/^MIRROR_REPOSITORIES: /);
    expect(error.message).toContain(JSON.stringify(entry));
    expect(error.message).toContain(why);
  });

  it('names MIRROR_REPOSITORIES, not the queue, when both are wrong', () => {
    const error = refusal({ MIRROR_REPOSITORIES: 'pub/fedora' });

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/^MIRROR_REPOSITORIES: "pub\/fedora" does not end in \//);
  });
});
