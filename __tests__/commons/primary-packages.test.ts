/** primary.xml's packages read as they stream: every field mirroring and rescue use, whatever the chunks. */
import { primaryPackageAt, primaryPackages, sourceRpmIdentity } from '../../src/commons/primary-packages.js';
import { primaryXml } from '../helpers/primary-xml.js';

const chunked = (text: string, size: number) =>
  (async function* () {
    for (let at = 0; at < text.length; at += size) yield text.slice(at, at + size);
  })();

const collect = async (text: AsyncIterable<string>) => {
  const found = [];
  for await (const listed of primaryPackages(text)) found.push(listed);
  return found;
};

describe('primaryPackages', () => {
  const rpms = new Map([
    ['Packages/a/alpha-1.0-1.fc44.x86_64.rpm', Buffer.from('a')],
    ['Packages/g/gadget++-2.0~rc1-3.fc44.noarch.rpm', Buffer.from('bb')],
  ]);

  it('reads every package, whatever the chunks it arrives in', async () => {
    const xml = primaryXml(rpms, { sourceOf: (name) => (name === 'alpha' ? 'alpha-suite' : name) });
    for (const size of [1, 7, 64, xml.length]) {
      expect(await collect(chunked(xml, size))).toEqual([
        {
          name: 'alpha',
          href: 'Packages/a/alpha-1.0-1.fc44.x86_64.rpm',
          algorithm: 'sha256',
          checksum: 'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb',
          size: 1,
          epoch: '0',
          version: '1.0',
          release: '1.fc44',
          arch: 'x86_64',
          sourceRpm: 'alpha-suite-1.0-1.fc44.src.rpm',
        },
        expect.objectContaining({
          name: 'gadget++',
          href: 'Packages/g/gadget++-2.0~rc1-3.fc44.noarch.rpm',
          version: '2.0~rc1',
          arch: 'noarch',
          sourceRpm: 'gadget++-2.0~rc1-3.fc44.src.rpm',
        }),
      ]);
    }
  });

  it('decodes entities in names and locations', async () => {
    const xml = primaryXml(new Map([['Packages/b/b&c-1.0-1.noarch.rpm', Buffer.from('x')]]));
    expect(await collect(chunked(xml, 5))).toEqual([
      expect.objectContaining({ name: 'b&c', href: 'Packages/b/b&c-1.0-1.noarch.rpm' }),
    ]);
  });

  it("marks a package at another base URL (xml:base), which primaryPackageAt never takes for this repository's", async () => {
    const href = 'Packages/a/alpha-1.0-1.fc44.x86_64.rpm';
    const xml = primaryXml(rpms).replace(
      `<location href="${href}"/>`,
      `<location xml:base="https://elsewhere.example/" href="${href}"/>`,
    );
    const [based, plain] = await collect(chunked(xml, 11));
    expect(based).toMatchObject({ href, elsewhere: true });
    expect(plain).not.toHaveProperty('elsewhere');
    expect(await primaryPackageAt(chunked(xml, 11), href)).toBeUndefined();
  });

  it('finds one package by its location, or nothing', async () => {
    const xml = primaryXml(rpms);
    const found = await primaryPackageAt(chunked(xml, 13), 'Packages/g/gadget++-2.0~rc1-3.fc44.noarch.rpm');
    expect(found?.size).toBe(2);
    expect(await primaryPackageAt(chunked(xml, 13), 'Packages/z/zeta-1-1.noarch.rpm')).toBeUndefined();
  });
});

describe('sourceRpmIdentity', () => {
  it.each([
    ['bash-5.2.26-3.fc44.src.rpm', { name: 'bash', version: '5.2.26', release: '3.fc44' }],
    ['python-dateutil-2.9.0-1.fc44.src.rpm', { name: 'python-dateutil', version: '2.9.0', release: '1.fc44' }],
    ['gadget++-2.0~rc1-3.fc44.nosrc.rpm', { name: 'gadget++', version: '2.0~rc1', release: '3.fc44' }],
    ['not-a-source.rpm', undefined],
    ['bash-5.2-1.fc44.x86_64.rpm', undefined],
  ])('%s → %j', (file, identity) => {
    expect(sourceRpmIdentity(file)).toEqual(identity);
  });
});
