/** Paths under `/@`: a time, a listing, or a 400 that shows the expected form. */
import fc from 'fast-check';
import { travelPathOf } from '../../src/handler/time-travel/travel-path.js';

const REPO = 'pub/fedora/linux/updates/44/Everything/x86_64/';
const RPM = `${REPO}Packages/g/gadget++-2.0~rc1^20260301git-3.fc44.noarch.rpm`;

describe('travelPathOf', () => {
  it('leaves every path that does not start with @ alone', () => {
    fc.assert(
      fc.property(fc.string(), (path) => {
        fc.pre(!path.startsWith('@'));
        expect(travelPathOf(path)).toBeUndefined();
      }),
    );
  });

  it('reads repository metadata at a time', () => {
    expect(travelPathOf(`@20261101T000000Z/${REPO}repodata/repomd.xml`)).toEqual({
      kind: 'metadata',
      time: '20261101T000000Z',
      at: new Date('2026-11-01T00:00:00Z'),
      repodata: { kind: 'repomd', repoDir: REPO, file: 'repodata/repomd.xml' },
    });
    expect(travelPathOf(`@20261101T000000Z/${REPO}repodata/${'a'.repeat(64)}-primary.xml.gz`)).toMatchObject({
      kind: 'metadata',
      repodata: { kind: 'listed', repoDir: REPO },
    });
  });

  it('reads an ORIGINS name after the time as it reads it without one', () => {
    expect(travelPathOf('@20261101T000000Z/epel/10/Everything/x86_64/repodata/repomd.xml')).toMatchObject({
      kind: 'metadata',
      repodata: { repoDir: 'epel/10/Everything/x86_64/', file: 'repodata/repomd.xml' },
    });
  });

  it('passes every other path under a time on as the same path without it', () => {
    expect(travelPathOf(`@20261101T000000Z/${RPM}`)).toEqual({ kind: 'pass', time: '20261101T000000Z', path: RPM });
    expect(travelPathOf(`@20261101T000000Z/${REPO}`)).toEqual({ kind: 'pass', time: '20261101T000000Z', path: REPO });
  });

  it.each([
    [`@/${REPO}`, REPO],
    [`@/${REPO.slice(0, -1)}`, REPO],
    [`@/${REPO}repodata/`, REPO],
    [`@/${REPO}repodata/repomd.xml`, REPO],
    ['@/repodata/', ''],
  ])('reads %j as the listing of %j', (path, repoDir) => {
    expect(travelPathOf(path)).toEqual({ kind: 'listing', repoDir });
  });

  it.each([
    ['@2026-11-01/x/repodata/repomd.xml', 'expected /@YYYYMMDDTHHMMSSZ/<path>'],
    ['@20261301T000000Z/x/repodata/repomd.xml', 'is not a time'],
    ['@latest/x/', 'is not a time'],
    ['@20261101T000000Z', 'expected a path after the time'],
    ['@20261101T000000Z/', 'expected a path after the time'],
    ['@', 'expected /@/<repository path>/'],
    ['@/', 'expected /@/<repository path>/'],
    ['@/pub/../x/', 'not a repository path: path has a "." or ".." segment'],
    ['@/pub//x/', 'not a repository path: path has an empty segment'],
    ['@20261101T000000Z/pub/../x/repodata/repomd.xml', 'not a repository path'],
  ])('refuses %j, showing the form', (path, reason) => {
    const travel = travelPathOf(path);
    expect(travel?.kind).toBe('malformed');
    expect(travel?.kind === 'malformed' && travel.reason).toContain(reason);
  });
});
