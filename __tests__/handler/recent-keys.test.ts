import { RecentKeys } from '../../src/handler/recent-keys.js';

describe('RecentKeys', () => {
  let now = 0;
  const clock = () => now;

  beforeEach(() => {
    now = 1_000;
  });

  it('remembers a key until its TTL is over', () => {
    const keys = new RecentKeys(100, 10, clock);
    keys.add('a');

    now += 99;
    expect(keys.has('a')).toBe(true);
    now += 1;
    expect(keys.has('a')).toBe(false);
  });

  it('adds a key once: the first tryAdd wins until the TTL is over', () => {
    const keys = new RecentKeys(100, 10, clock);

    expect([keys.tryAdd('a'), keys.tryAdd('a'), keys.tryAdd('b')]).toEqual([true, false, true]);
    now += 100;
    expect(keys.tryAdd('a')).toBe(true);
  });

  it('forgets a deleted key', () => {
    const keys = new RecentKeys(100, 10, clock);
    keys.add('a');
    keys.delete('a');

    expect(keys.has('a')).toBe(false);
  });

  it('forgets the least recently added keys first when full', () => {
    const keys = new RecentKeys(1000, 3, clock);
    for (const key of ['a', 'b', 'c']) keys.add(key);
    keys.add('a');
    keys.add('d');

    expect(keys.size).toBe(3);
    expect(['a', 'b', 'c', 'd'].filter((key) => keys.has(key))).toEqual(['a', 'c', 'd']);
  });
});
