/** RESCUE_URLS: templates refused with a reason, and URLs built so no value can leave its path segment. */
import fc from 'fast-check';
import { parseRescueTemplates } from '../../src/commons/config.js';
import { factsOfFile, rescueUrl } from '../../src/uploader/rescue/templates.js';
import { identityOfFileName } from '../../src/uploader/rpm-name.js';

const KOJI = 'https://kojipkgs.fedoraproject.org/packages/{source_name}/{version}/{release}/{arch}/{file}';
const FILE = 'gadget++-2.0~rc1-3.fc44.x86_64.rpm';

describe('parseRescueTemplates', () => {
  it('reads space-separated templates, in order', () => {
    expect(parseRescueTemplates(`${KOJI}  https://archive.example/{first}/{file}\n`)).toEqual([
      KOJI,
      'https://archive.example/{first}/{file}',
    ]);
    expect(parseRescueTemplates(undefined)).toEqual([]);
  });

  it.each([
    ['ftp://archive.example/{file}', 'expected http(s)://host/path'],
    ['https://{name}.example/{file}', 'expected http(s)://host/path'],
    ['https://archive.example/{nmae}/{file}', 'unknown placeholder {nmae}'],
    ['https://archive.example/{file', 'an unmatched { or }'],
    ['https://archive.example/{file}?x=1', 'no query or fragment'],
  ])('refuses %j, naming RESCUE_URLS', (template, why) => {
    expect(() => parseRescueTemplates(template)).toThrow(`RESCUE_URLS entry ${JSON.stringify(template)} is invalid`);
    expect(() => parseRescueTemplates(template)).toThrow(why);
  });
});

it("never shows a template's password in its refusal", () => {
  expect(() => parseRescueTemplates('https://user:s3cret@archive.example/{file}')).toThrow(
    'RESCUE_URLS entry "https://***@archive.example/{file}" is invalid: credentials in a template',
  );
  expect(() => parseRescueTemplates('https://user:s3cret@archive.example/{file}')).not.toThrow(/s3cret/);
});

describe('rescueUrl', () => {
  it("fills Koji's layout from a file name and its source package", () => {
    const facts = { ...factsOfFile(FILE, identityOfFileName(FILE)), source_name: 'gadget' };
    expect(rescueUrl(KOJI, facts)).toBe(
      'https://kojipkgs.fedoraproject.org/packages/gadget/2.0~rc1/3.fc44/x86_64/gadget%2B%2B-2.0~rc1-3.fc44.x86_64.rpm',
    );
    expect(rescueUrl('https://a.example/Packages/{first}/{file}', facts)).toBe(
      'https://a.example/Packages/g/gadget%2B%2B-2.0~rc1-3.fc44.x86_64.rpm',
    );
  });

  it('skips a template that needs a value the cache does not know', () => {
    expect(rescueUrl(KOJI, factsOfFile(FILE, identityOfFileName(FILE)))).toBeUndefined();
    expect(rescueUrl('https://a.example/{name}/{file}', factsOfFile('odd.rpm', undefined))).toBeUndefined();
  });

  it('keeps every value inside its path segment: the host and the path outside placeholders never change', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (name, file) => {
        const url = rescueUrl('https://archive.example/pool/{name}/{file}', { name, file });
        if (url === undefined) return;
        const parsed = new URL(url);
        expect(parsed.host).toBe('archive.example');
        expect(parsed.pathname.split('/')).toHaveLength(4);
        expect(parsed.pathname.startsWith('/pool/')).toBe(true);
        expect(parsed.search).toBe('');
        expect(parsed.hash).toBe('');
      }),
    );
  });
});
