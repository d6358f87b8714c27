import fc from 'fast-check';
import { frontDoorPath, MALFORMED_ENCODING } from '../../src/handler/front-door.js';
import { capturedFunctionUrlEvent, capturedHttpApiEvent, functionUrlEvent } from '../helpers/captured-events.js';
import { httpApiEvent } from '../helpers/events.js';

const GADGET = 'Packages/gadget++-2.0~rc1^20260301git-3.fc44.noarch.rpm';
/** As dnf 4 sends it: lowercase hex, `+` and `^` encoded, `~` not. */
const GADGET_AS_DNF_SENDS_IT = '/Packages/gadget%2b%2b-2.0~rc1%5e20260301git-3.fc44.noarch.rpm';

describe('frontDoorPath', () => {
  it('reads the captured Function URL event: rawPath decoded once, leading slash removed', () => {
    // Prepare
    const event = capturedFunctionUrlEvent();

    // Act
    const fromDoor = frontDoorPath(event);

    // Assess
    expect(event.rawPath).toBe('/capture/space%20value');
    expect(event.pathParameters).toBeNull();
    expect(fromDoor).toEqual({ decoded: true, frontDoor: 'function-url', path: 'capture/space value' });
    // AWS's own decoding agrees for a well-formed path; it is not what the adapter reads.
    expect(`/${fromDoor.decoded ? fromDoor.path : ''}`).toBe(event.requestContext.http.path);
  });

  it('reads the same request captured through an HTTP API on route /{path+} as the same path', () => {
    expect(frontDoorPath(capturedHttpApiEvent())).toEqual({
      decoded: true,
      frontDoor: 'http-api',
      path: 'capture/space value',
    });
  });

  it.each([
    [GADGET_AS_DNF_SENDS_IT, GADGET],
    // dnf 5 before Aug 2025 sent a raw `+`; a path `+` is a plus, never a space.
    ['/Packages/gadget++-2.0~rc1^20260301git-3.fc44.noarch.rpm', GADGET],
    ['/Packages/gadget%2B%2B-2.0%7Erc1%5E20260301git-3.fc44.noarch.rpm', GADGET],
    ['/pub/a%20b.rpm', 'pub/a b.rpm'],
    ['/pub/%C3%BC.rpm', 'pub/ü.rpm'],
    ['/pub/a%2Fb.rpm', 'pub/a/b.rpm'],
    // Decoded once only: what an HTTP API decodes twice keeps its second escape here.
    ['/pub/literal%2525value.rpm', 'pub/literal%25value.rpm'],
    ['/pub/literal%252b.rpm', 'pub/literal%2b.rpm'],
    ['/pub/question%3Fvalue.rpm', 'pub/question?value.rpm'],
    ['/pub/hash%23value.rpm', 'pub/hash#value.rpm'],
    ['//evil.example/x.rpm', '/evil.example/x.rpm'],
    ['/', ''],
  ])('decodes rawPath %s exactly once into %j', (rawPath, path) => {
    expect(frontDoorPath(functionUrlEvent(rawPath))).toEqual({ decoded: true, frontDoor: 'function-url', path });
  });

  it.each([
    '/pub/%zz.rpm',
    '/pub/100%.rpm',
    '/pub/%C3.rpm',
    // An encoded lone surrogate is not UTF-8.
    '/pub/%ED%A0%80.rpm',
  ])('reports %s, which cannot be decoded, as malformed with its rawPath', (rawPath) => {
    expect(frontDoorPath(functionUrlEvent(rawPath))).toEqual({
      decoded: false,
      frontDoor: 'function-url',
      reason: MALFORMED_ENCODING,
      rawPath,
    });
  });

  it('takes an HTTP API path parameter as API Gateway decoded it, never decoding it again', () => {
    expect(frontDoorPath(httpApiEvent('pub/literal%25value.rpm'))).toEqual({
      decoded: true,
      frontDoor: 'http-api',
      path: 'pub/literal%25value.rpm',
    });
  });

  it('finds no path in an HTTP API event without a path parameter, whatever its rawPath', () => {
    expect(frontDoorPath(httpApiEvent(undefined, { rawPath: '/pub/a.rpm' }))).toEqual({
      decoded: true,
      frontDoor: 'http-api',
      path: undefined,
    });
  });

  it('finds no path in a $default event built by hand without rawPath', () => {
    expect(frontDoorPath({ routeKey: '$default', pathParameters: null })).toEqual({
      decoded: true,
      frontDoor: 'function-url',
      path: undefined,
    });
  });

  it('gives any path, percent-encoded as a client may send it, back exactly', () => {
    const segment = fc.string({ unit: 'grapheme', minLength: 1 }).filter((text) => !text.includes('/'));
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 4 }), fc.boolean(), (segments, lowercase) => {
        const encoded = segments
          .map((text) => encodeURIComponent(text))
          .map((text) => (lowercase ? text.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()) : text))
          .join('/');

        expect(frontDoorPath(functionUrlEvent(`/${encoded}`))).toEqual({
          decoded: true,
          frontDoor: 'function-url',
          path: segments.join('/'),
        });
      }),
    );
  });
});
