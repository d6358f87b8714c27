import { forwardedQuery } from '../../src/handler/client-query.js';

describe('forwardedQuery', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['countme=1', 'countme=1'],
    ['rpm-cache=stored', undefined],
    ['a=1&rpm-cache=stored&b=%2B', 'a=1&b=%2B'],
    ['name=caf\u00e9 x', 'name=caf%C3%A9%20x'],
    ['x=\r\nSet-Cookie:1', 'x=%0D%0ASet-Cookie:1'],
  ])('forwards %j as %j', (raw, forwarded) => {
    expect(forwardedQuery(raw)).toBe(forwarded);
  });
});
