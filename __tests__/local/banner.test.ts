/**
 * `npm start`'s first lines: every origin a request can reach, by name and
 * URL, so a wrong `ORIGINS` shows before the first request.
 */
import { parseOrigins } from '../../src/commons/config.js';
import { startBanner } from '../../src/local/banner.js';

const facts = {
  url: 'http://127.0.0.1:8080',
  originBaseUrl: 'https://dl.fedoraproject.org',
  storeDescription: 'embedded (.rpm-cache)',
  bucketName: 'rpm-cache',
  snapshotSchedule: undefined,
};

describe('the start banner', () => {
  it('names ORIGIN_HOST alone when ORIGINS is not set', () => {
    expect(startBanner({ ...facts, origins: [] })).toEqual([
      'rpm-cache listening on http://127.0.0.1:8080, origin https://dl.fedoraproject.org, store embedded (.rpm-cache), bucket rpm-cache',
    ]);
  });

  it('names each ORIGINS entry, its path and its mirrors, and what is left to ORIGIN_HOST', () => {
    const origins = parseOrigins(
      'fedora=https://dl.fedoraproject.org/pub/fedora/linux,https://mirrors.kernel.org/fedora centos=https://mirror.stream.centos.org',
    );

    expect(startBanner({ ...facts, origins })).toEqual([
      'rpm-cache listening on http://127.0.0.1:8080, origin https://dl.fedoraproject.org (paths no ORIGINS name starts), store embedded (.rpm-cache), bucket rpm-cache',
      'rpm-cache: origin fedora: http://127.0.0.1:8080/fedora/... from https://dl.fedoraproject.org/pub/fedora/linux/..., mirrors https://mirrors.kernel.org/fedora',
      'rpm-cache: origin centos: http://127.0.0.1:8080/centos/... from https://mirror.stream.centos.org/...',
    ]);
  });

  it('ends with the snapshot schedule when there is one', () => {
    const lines = startBanner({
      ...facts,
      origins: [],
      snapshotSchedule: { repositories: ['a/', 'b/'], everyMs: 120_000 },
    });

    expect(lines.at(-1)).toBe('rpm-cache: snapshots of a/, b/ checked every 2 min');
  });
});
