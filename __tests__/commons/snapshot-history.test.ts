/**
 * Snapshot times (YYYYMMDDTHHMMSSZ) and history entry names: every time
 * formats and parses back, nothing else parses, and names sort by time, so
 * a listing after `historyStartAfter(t)` starts at the first snapshot after t.
 */
import fc from 'fast-check';
import {
  formatSnapshotTime,
  historyKey,
  historyPrefix,
  historyStartAfter,
  parseHistoryKey,
  parseSnapshotTime,
} from '../../src/commons/snapshot-history.js';

const REPO = 'pub/fedora/linux/updates/44/Everything/x86_64/';
/** Whole seconds from 1970 to 9999. */
const times = fc
  .integer({ min: 0, max: Date.UTC(9999, 11, 31, 23, 59, 59) / 1000 })
  .map((seconds) => new Date(seconds * 1000));
const sha256 = fc.stringMatching(/^[0-9a-f]{64}$/);

describe('snapshot times', () => {
  it('format as YYYYMMDDTHHMMSSZ and parse back to the same second', () => {
    fc.assert(
      fc.property(times, (date) => {
        const text = formatSnapshotTime(date);
        expect(text).toMatch(/^\d{8}T\d{6}Z$/);
        expect(parseSnapshotTime(text)?.getTime()).toBe(date.getTime());
      }),
    );
  });

  it('sort as text in the order of time', () => {
    fc.assert(
      fc.property(times, times, (a, b) => {
        const [ta, tb] = [formatSnapshotTime(a), formatSnapshotTime(b)];
        expect(ta < tb).toBe(a.getTime() < b.getTime());
      }),
    );
  });

  it.each([
    '20261301T000000Z',
    '20260230T000000Z',
    '20261100T000000Z',
    '20261101T240000Z',
    '20261101T006000Z',
    '20261101T000060Z',
    '20261101T000000',
    '2026-11-01T00:00:00Z',
    '20261101t000000z',
    '20261101T000000Z ',
    '',
  ])('refuses %j', (text) => {
    expect(parseSnapshotTime(text)).toBeUndefined();
  });

  it('refuses any text that is not exactly the form', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        fc.pre(!/^\d{8}T\d{6}Z$/.test(text));
        expect(parseSnapshotTime(text)).toBeUndefined();
      }),
    );
  });
});

describe('history entry names', () => {
  it('name the time, repomd.xml and revision, and read back', () => {
    fc.assert(
      fc.property(
        times,
        sha256,
        fc.option(fc.string({ minLength: 1, maxLength: 40 }), { nil: undefined }),
        (date, id, revision) => {
          const name = { time: formatSnapshotTime(date), id, ...(revision === undefined ? {} : { revision }) };
          expect(parseHistoryKey(historyKey(REPO, name), historyPrefix(REPO))).toEqual(name);
        },
      ),
    );
  });

  it('leave out a revision too long for a key', () => {
    const name = { time: '20261101T000000Z', id: 'a'.repeat(64), revision: 'r'.repeat(500) };
    expect(parseHistoryKey(historyKey(REPO, name), historyPrefix(REPO))).toEqual({ time: name.time, id: name.id });
  });

  it('sort after historyStartAfter(t) exactly when their time is after t', () => {
    fc.assert(
      fc.property(times, times, sha256, fc.string({ maxLength: 20 }), (entry, asked, id, revision) => {
        const key = historyKey(REPO, { time: formatSnapshotTime(entry), id, revision });
        const after = historyStartAfter(REPO, formatSnapshotTime(asked));
        expect(key > after).toBe(entry.getTime() > asked.getTime());
      }),
    );
  });
});
