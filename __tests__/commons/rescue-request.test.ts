/**
 * What a request may say about a file it pins (the uploader event's `expect`, the
 * `X-Cache-Expect-*` headers) and the record a failed rescue leaves: what is taken,
 * what is refused, and when a record still answers for a request.
 */
import { cacheKey, cacheKeyProblem } from '../../src/commons/paths.js';
import {
  EXPECT_HEADERS,
  expectationFromHeaders,
  parseExpectation,
  parseRescueRecord,
  RESCUE_RETRY_AFTER_TROUBLE_MS,
  RESCUE_RETRY_MS,
  recordStillAnswers,
  rescueRecordKey,
} from '../../src/commons/rescue-request.js';

const SHA = `${'a'.repeat(63)}0`;
const OTHER_SHA = 'b'.repeat(64);
const SOURCE = 'bash-5.2.37-1.fc44.src.rpm';

describe('parseExpectation', () => {
  it('takes a SHA-256 alone, or with a size and a source RPM, and nothing else', () => {
    expect(parseExpectation({ sha256: SHA })).toEqual({ sha256: SHA });
    expect(parseExpectation({ sha256: SHA, size: 0 })).toEqual({ sha256: SHA, size: 0 });
    expect(parseExpectation({ sha256: SHA, size: 123_456, sourceRpm: SOURCE, extra: 'dropped' })).toEqual({
      sha256: SHA,
      size: 123_456,
      sourceRpm: SOURCE,
    });
    expect(parseExpectation({ sha256: SHA, sourceRpm: 'kernel-6.9.0-0.rc1.fc44.nosrc.rpm' })).toEqual({
      sha256: SHA,
      sourceRpm: 'kernel-6.9.0-0.rc1.fc44.nosrc.rpm',
    });
    expect(parseExpectation({ sha256: SHA, sourceRpm: 'gcc-c++_x-1.0^git~rc1-1.fc44.src.rpm' })).toMatchObject({
      sourceRpm: 'gcc-c++_x-1.0^git~rc1-1.fc44.src.rpm',
    });
  });

  it.each([
    ['null', null],
    ['an array', [SHA]],
    ['a string', SHA],
    ['an object without sha256', { size: 1 }],
  ])('refuses %s as not an expectation', (_what, value) => {
    expect(typeof parseExpectation(value)).toBe('string');
  });

  it.each([
    ['upper-case hex', SHA.toUpperCase().replace('0', 'A')],
    ['63 digits', SHA.slice(1)],
    ['65 digits', `${SHA}0`],
    ['a non-hex digit', `${SHA.slice(1)}g`],
    ['an algorithm prefix', `sha256:${SHA}`],
    ['surrounding space', ` ${SHA}`],
    ['a number', 42],
  ])('refuses a sha256 with %s', (_what, sha256) => {
    expect(parseExpectation({ sha256 })).toBe('expect.sha256 is not 64 lowercase hex digits');
  });

  it.each([
    ['negative', -1],
    ['a fraction', 1.5],
    ['a string of digits', '123'],
    ['NaN', Number.NaN],
    ['infinite', Number.POSITIVE_INFINITY],
    ['beyond exact integers', 2 ** 53],
    ['null', null],
  ])('refuses a size that is %s', (_what, size) => {
    expect(parseExpectation({ sha256: SHA, size })).toBe('expect.size is not a whole number of bytes');
  });

  it.each([
    ['a path', `../../${SOURCE}`],
    ['a slash inside', 'bash/evil-1-1.src.rpm'],
    ['only dots', '..'],
    ['a binary package', 'bash-5.2.37-1.fc44.x86_64.rpm'],
    ['a compressed name', `${SOURCE}.gz`],
    ['a space', 'bash 5-1.fc44.src.rpm'],
    ['a line break', 'bash-5.2-1.fc44.src.rpm\nX-Injected: 1'],
    ['a carriage return', 'bash-5.2-1\r.fc44.src.rpm'],
    ['a percent escape', 'bash%2F..-5.2-1.fc44.src.rpm'],
    ['a non-ASCII letter', 'bäsh-5.2-1.fc44.src.rpm'],
    ['an empty name', ''],
    ['251 characters before the suffix', `${'a'.repeat(251)}.src.rpm`],
    ['a number', 5],
  ])('refuses a sourceRpm with %s', (_what, sourceRpm) => {
    expect(parseExpectation({ sha256: SHA, sourceRpm })).toBe('expect.sourceRpm is not a source RPM file name');
  });

  it('takes a source RPM name of 250 characters before the suffix', () => {
    const sourceRpm = `${'a'.repeat(246)}-1-1.src.rpm`;
    expect(parseExpectation({ sha256: SHA, sourceRpm })).toEqual({ sha256: SHA, sourceRpm });
  });
});

describe('expectationFromHeaders', () => {
  /** Headers as both front doors hand them to the Lambda: names in lower case. */
  const headers = (values: Partial<Record<keyof typeof EXPECT_HEADERS, string>>) =>
    Object.fromEntries(
      Object.entries(values).map(([field, value]) => [EXPECT_HEADERS[field as keyof typeof EXPECT_HEADERS], value]),
    );

  it('names the headers in lower case, as API Gateway and Function URLs give them', () => {
    expect(EXPECT_HEADERS).toEqual({
      sha256: 'x-cache-expect-sha256',
      size: 'x-cache-expect-size',
      sourceRpm: 'x-cache-source-rpm',
    });
  });

  it('reads a checksum, a size and a source RPM', () => {
    expect(
      expectationFromHeaders({
        host: 'cache.example',
        'x-cache-expect-sha256': SHA,
        'x-cache-expect-size': '4096',
        'x-cache-source-rpm': SOURCE,
      }),
    ).toEqual({ sha256: SHA, size: 4096, sourceRpm: SOURCE });
  });

  it('takes a checksum alone, lower-casing its hex digits and trimming spaces', () => {
    expect(expectationFromHeaders(headers({ sha256: ` ${SHA.toUpperCase()} ` }))).toEqual({ sha256: SHA });
    expect(expectationFromHeaders(headers({ sha256: SHA, size: ' 007 ' }))).toEqual({ sha256: SHA, size: 7 });
  });

  it('is undefined without headers, or without a checksum whatever else is sent', () => {
    expect(expectationFromHeaders(undefined)).toBeUndefined();
    expect(expectationFromHeaders({})).toBeUndefined();
    expect(expectationFromHeaders(headers({ size: '10', sourceRpm: SOURCE }))).toBeUndefined();
  });

  it('does not read headers under names in other cases (the front doors never send them so)', () => {
    expect(expectationFromHeaders({ 'X-Cache-Expect-Sha256': SHA })).toBeUndefined();
  });

  it.each([
    ['a short checksum', { sha256: SHA.slice(2) }],
    ['a checksum with its algorithm', { sha256: `sha256:${SHA}` }],
    ['an empty checksum', { sha256: '' }],
    ['a negative size', { sha256: SHA, size: '-1' }],
    ['a fractional size', { sha256: SHA, size: '1.5' }],
    ['a size in exponent form', { sha256: SHA, size: '1e3' }],
    ['a hexadecimal size', { sha256: SHA, size: '0x10' }],
    ['a size with a unit', { sha256: SHA, size: '10 bytes' }],
    ['an empty size', { sha256: SHA, size: '' }],
    ['a size of 16 digits', { sha256: SHA, size: '1'.repeat(16) }],
    ['a binary package as the source', { sha256: SHA, sourceRpm: 'bash-5.2-1.fc44.x86_64.rpm' }],
    ['a source with a path', { sha256: SHA, sourceRpm: `../${SOURCE}` }],
  ])('is undefined, not partly read, for %s', (_what, values) => {
    expect(expectationFromHeaders(headers(values))).toBeUndefined();
  });
});

describe('rescue records', () => {
  const AT = '2026-05-01T10:00:00.000Z';
  const at = Date.parse(AT);

  it('keeps a record under rescues/ beside the path', () => {
    expect(rescueRecordKey('pub/Packages/b/bash-5.2-1.fc44.x86_64.rpm')).toBe(
      'rescues/pub/Packages/b/bash-5.2-1.fc44.x86_64.rpm.json',
    );
  });

  it('gives every path that can be a cache key a record key S3 takes (1,024 bytes), one per path', () => {
    /** A path whose cache key is `bytes` long, made of `unit` (one or more bytes in UTF-8). */
    const pathOf = (bytes: number, unit: string) => {
      const room = bytes - 'cache/pub/.rpm'.length;
      const name = unit.repeat(Math.floor(room / Buffer.byteLength(unit)));
      return `pub/${'a'.repeat(room - Buffer.byteLength(name))}${name}.rpm`;
    };
    const keys = new Set<string>();
    for (const unit of ['a', 'é', '🥖']) {
      for (const bytes of [1016, 1017, 1018, 1023, 1024]) {
        const path = pathOf(bytes, unit);
        expect(Buffer.byteLength(cacheKey(path))).toBe(bytes);
        expect(cacheKeyProblem(path)).toBeUndefined();
        const key = rescueRecordKey(path);
        expect(Buffer.byteLength(key)).toBeLessThanOrEqual(1024);
        expect(key.startsWith('rescues/')).toBe(true);
        keys.add(key);
      }
    }
    expect(keys.size).toBe(15);
    const fits = pathOf(1017, 'a');
    expect(rescueRecordKey(fits)).toBe(`rescues/${fits}.json`);
    expect(rescueRecordKey(pathOf(1018, 'a'))).toMatch(/^rescues\/long\/[0-9a-f]{64}\.json$/);
  });

  it('reads what the uploader writes, with or without a checksum', () => {
    expect(
      parseRescueRecord(JSON.stringify({ outcome: 'failed', at: AT, reason: 'none had it', sha256: SHA })),
    ).toEqual({
      outcome: 'failed',
      at: AT,
      reason: 'none had it',
      sha256: SHA,
    });
    expect(parseRescueRecord(JSON.stringify({ outcome: 'failed', at: AT, reason: 'no checksum', other: 1 }))).toEqual({
      outcome: 'failed',
      at: AT,
      reason: 'no checksum',
    });
  });

  it('reads that the checksum was a snapshot’s only with the checksum, and only as true', () => {
    const base = { outcome: 'failed', at: AT, reason: 'none had it' } as const;
    expect(parseRescueRecord(JSON.stringify({ ...base, sha256: SHA, fromSnapshot: true }))).toEqual({
      ...base,
      sha256: SHA,
      fromSnapshot: true,
    });
    expect(parseRescueRecord(JSON.stringify({ ...base, fromSnapshot: true }))).toEqual(base);
    expect(parseRescueRecord(JSON.stringify({ ...base, sha256: SHA, fromSnapshot: 'yes' }))).toEqual({
      ...base,
      sha256: SHA,
    });
  });

  it.each([
    ['not JSON', '{"outcome": "failed"'],
    ['empty', ''],
    ['JSON null', 'null'],
    ['an array', JSON.stringify([{ outcome: 'failed', at: AT, reason: 'x' }])],
    ['another outcome', JSON.stringify({ outcome: 'stored', at: AT, reason: 'x' })],
    ['no outcome', JSON.stringify({ at: AT, reason: 'x' })],
    ['no time', JSON.stringify({ outcome: 'failed', reason: 'x' })],
    ['a time that is no date', JSON.stringify({ outcome: 'failed', at: 'yesterday-ish', reason: 'x' })],
    ['a numeric time', JSON.stringify({ outcome: 'failed', at: at, reason: 'x' })],
    ['no reason', JSON.stringify({ outcome: 'failed', at: AT })],
    ['a reason that is no text', JSON.stringify({ outcome: 'failed', at: AT, reason: ['x'] })],
    [
      'an upper-case checksum',
      JSON.stringify({ outcome: 'failed', at: AT, reason: 'x', sha256: OTHER_SHA.toUpperCase() }),
    ],
    ['a short checksum', JSON.stringify({ outcome: 'failed', at: AT, reason: 'x', sha256: 'abc' })],
    ['a null checksum', JSON.stringify({ outcome: 'failed', at: AT, reason: 'x', sha256: null })],
  ])('refuses a record that is %s', (_what, text) => {
    expect(parseRescueRecord(text)).toBeUndefined();
  });

  describe('recordStillAnswers', () => {
    const record = { outcome: 'failed', at: AT, reason: 'no archive had it', sha256: SHA } as const;
    const withoutSha = { outcome: 'failed', at: AT, reason: 'no checksum known' } as const;

    it('answers within the hour for the same bytes, and for a request naming none', () => {
      expect(recordStillAnswers(record, { sha256: SHA }, at + 1000)).toBe(true);
      expect(recordStillAnswers(record, { sha256: SHA, size: 5 }, at + RESCUE_RETRY_MS - 1)).toBe(true);
      expect(recordStillAnswers(record, undefined, at + 1000)).toBe(true);
      expect(recordStillAnswers(withoutSha, undefined, at + 1000)).toBe(true);
    });

    it('no longer answers once an hour old', () => {
      expect(RESCUE_RETRY_MS).toBe(60 * 60 * 1000);
      expect(recordStillAnswers(record, { sha256: SHA }, at + RESCUE_RETRY_MS)).toBe(false);
      expect(recordStillAnswers(record, undefined, at + RESCUE_RETRY_MS + 1)).toBe(false);
    });

    it('does not answer for other bytes, nor, when it knew none, for a request naming some', () => {
      expect(recordStillAnswers(record, { sha256: OTHER_SHA }, at + 1000)).toBe(false);
      expect(recordStillAnswers(withoutSha, { sha256: SHA }, at + 1000)).toBe(false);
    });

    it("answers a request naming other bytes when the checksum was a snapshot's (it wins), within the hour", () => {
      const fromSnapshot = { ...record, fromSnapshot: true } as const;
      expect(recordStillAnswers(fromSnapshot, { sha256: OTHER_SHA }, at + 1000)).toBe(true);
      expect(recordStillAnswers(fromSnapshot, { sha256: OTHER_SHA }, at + RESCUE_RETRY_MS)).toBe(false);
    });

    it('does not answer when there is no record', () => {
      expect(recordStillAnswers(undefined, undefined, at)).toBe(false);
    });
  });
});

describe('a record of archive trouble', () => {
  it('answers for minutes only: the archive may answer again', () => {
    const at = Date.parse('2026-12-04T00:00:00Z');
    const record = {
      outcome: 'failed',
      at: new Date(at).toISOString(),
      reason: 'x: answered 503',
      transient: true,
    } as const;
    expect(parseRescueRecord(JSON.stringify(record))).toEqual(record);
    expect(recordStillAnswers(record, undefined, at + RESCUE_RETRY_AFTER_TROUBLE_MS - 1)).toBe(true);
    expect(recordStillAnswers(record, undefined, at + RESCUE_RETRY_AFTER_TROUBLE_MS)).toBe(false);
  });
});
