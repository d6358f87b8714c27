import { readFileSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { RpmVerificationError, RpmVerifier } from '../../src/uploader/rpm-verifier.js';
import { PAYLOAD_DIGEST_ALGORITHM_IDS, syntheticRpm } from '../helpers/synthetic-rpm.js';

/** Streams `bytes` through a verifier (for `fileName`, when given) in chunks of the given sizes (the rest in one). */
const verify = async (bytes: Buffer, chunkSizes: readonly number[] = [], fileName?: string): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const size of chunkSizes) {
    if (offset >= bytes.length) break;
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  if (offset < bytes.length) chunks.push(bytes.subarray(offset));
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(chunks),
    new RpmVerifier(fileName),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out.push(chunk);
        callback();
      },
    }),
  );
  return Buffer.concat(out);
};

/** Where the signature-covered part (main header and payload) of an RPM starts. */
const headerStart = (rpm: Buffer): number => {
  const signatureEntries = rpm.readUInt32BE(96 + 8);
  const signatureData = rpm.readUInt32BE(96 + 12);
  return 96 + 16 + signatureEntries * 16 + signatureData + ((8 - (signatureData % 8)) % 8);
};

describe('RpmVerifier', () => {
  it('passes a real rpmbuild RPM through unchanged', async () => {
    const rpm = readFileSync(new URL('../fixtures/demo-c++-1.0^20260101git-1.noarch.rpm', import.meta.url));

    expect(await verify(rpm)).toEqual(rpm);
  });

  it.each([
    ['a SIZE tag and a payload digest', {}],
    ['a LONGSIZE tag and no payload digest', { longSize: true, withoutPayloadDigest: true }],
  ])('accepts a well-formed RPM with %s, however it is chunked', async (_name, options) => {
    const rpm = syntheticRpm({ payloadBytes: 3000, ...options });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 700 }), { maxLength: 20 }), async (chunkSizes) => {
        expect(await verify(rpm, chunkSizes)).toEqual(rpm);
      }),
      { seed: 20261128, numRuns: 200 },
    );
  });

  it('rejects every truncation', async () => {
    const rpm = syntheticRpm({ payloadBytes: 2000 });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: rpm.length - 1 }), async (length) => {
        await expect(verify(rpm.subarray(0, length))).rejects.toThrow(RpmVerificationError);
      }),
      { seed: 20261128, numRuns: 300 },
    );
  });

  it('rejects any change to the main header or payload', async () => {
    const rpm = syntheticRpm({ payloadBytes: 2000 });
    const start = headerStart(rpm);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: start, max: rpm.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (position, flip) => {
          const altered = Buffer.from(rpm);
          altered[position] = (altered[position] ?? 0) ^ flip;
          await expect(verify(altered)).rejects.toThrow(RpmVerificationError);
        },
      ),
      { seed: 20261128, numRuns: 500 },
    );
  });

  describe('each digest on its own (an RPM may lack the others)', () => {
    /** Flips one byte at `position` (negative: from the end). */
    const flipped = (rpm: Buffer, position: number): Buffer => {
      const altered = Buffer.from(rpm);
      const index = position < 0 ? rpm.length + position : position;
      altered[index] = (altered[index] ?? 0) ^ 0x01;
      return altered;
    };
    /** A byte of the main header's store that no tag the verifier reads covers: the summary text. */
    const headerTextByte = (rpm: Buffer): number => rpm.indexOf('rpm-cache test package', headerStart(rpm));

    it('catches a changed payload byte with the payload digest alone (no MD5, as FIPS and v6 packages)', async () => {
      const rpm = syntheticRpm({ payloadBytes: 3000, withoutMd5: true });

      await expect(verify(rpm)).resolves.toEqual(rpm);
      await expect(verify(flipped(rpm, -100))).rejects.toThrow(/payload digest/);
    });

    it('catches a changed payload byte with the MD5 alone (no payload digest, as old RPMs)', async () => {
      const rpm = syntheticRpm({ payloadBytes: 3000, withoutPayloadDigest: true });

      await expect(verify(rpm)).resolves.toEqual(rpm);
      await expect(verify(flipped(rpm, -100))).rejects.toThrow(/MD5/);
    });

    it('catches a changed header byte with the header SHA256 alone (no MD5)', async () => {
      const rpm = syntheticRpm({ payloadBytes: 3000, withoutMd5: true });

      await expect(verify(flipped(rpm, headerTextByte(rpm)))).rejects.toThrow(/SHA256/);
    });

    it('checks the header with SHA1 in old RPMs that carry no SHA256', async () => {
      const rpm = syntheticRpm({ payloadBytes: 3000, withoutMd5: true, headerDigest: 'sha1' });

      await expect(verify(rpm)).resolves.toEqual(rpm);
      await expect(verify(flipped(rpm, headerTextByte(rpm)))).rejects.toThrow(/SHA1/);
    });

    it('refuses an RPM whose signature carries no header digest at all', async () => {
      const rpm = syntheticRpm({ payloadBytes: 3000, withoutMd5: true, headerDigest: 'sha1' });
      const noDigest = Buffer.from(rpm);
      // Turn the SHA1 tag (269) into a tag the verifier does not know.
      const index = 96 + 16;
      for (let entry = 0; entry < noDigest.readUInt32BE(96 + 8); entry += 1) {
        if (noDigest.readUInt32BE(index + entry * 16) === 269) noDigest.writeUInt32BE(999, index + entry * 16);
      }

      await expect(verify(noDigest)).rejects.toThrow(RpmVerificationError);
    });

    it.each(Object.keys(PAYLOAD_DIGEST_ALGORITHM_IDS) as (keyof typeof PAYLOAD_DIGEST_ALGORITHM_IDS)[])(
      'checks a %s payload digest',
      async (payloadDigestAlgorithm) => {
        const rpm = syntheticRpm({ payloadBytes: 3000, withoutMd5: true, payloadDigestAlgorithm });

        await expect(verify(rpm)).resolves.toEqual(rpm);
        await expect(verify(flipped(rpm, -1))).rejects.toThrow(/payload digest/);
      },
    );

    it('refuses an RPM whose payload no digest covers (no MD5, no payload digest): its length proves nothing', async () => {
      const rpm = syntheticRpm({ payloadBytes: 3000, withoutMd5: true, withoutPayloadDigest: true });

      await expect(verify(rpm)).rejects.toThrow('no digest covers the payload');
    });

    describe('rpm 6 (v6) packages: no size, no MD5, no SHA1; SHA-256 and SHA3-256', () => {
      const v6 = () => syntheticRpm({ payloadBytes: 3000, format: 'v6' });

      it('verifies one by what it carries', async () => {
        const rpm = v6();

        await expect(verify(rpm)).resolves.toEqual(rpm);
      });

      it.each([
        ['a changed payload byte', (rpm: Buffer) => flipped(rpm, -100), /payload (digest|SHA3-256)/],
        ['a changed header byte', (rpm: Buffer) => flipped(rpm, headerTextByte(rpm)), /header SHA/],
        ['a truncated payload', (rpm: Buffer) => rpm.subarray(0, rpm.length - 1), /payload (digest|SHA3-256)/],
      ])('catches %s', async (_name, alter, reason) => {
        await expect(verify(alter(v6()))).rejects.toThrow(reason);
      });
    });
  });

  it.each([
    ['signature', 96 + 1],
    ['main header', -1],
  ])(
    'rejects a %s header whose magic is wrong, though no digest covers the signature header',
    async (which, offset) => {
      const rpm = syntheticRpm({ payloadBytes: 1000 });
      const altered = Buffer.from(rpm);
      const position = which === 'signature' ? offset : headerStart(rpm) + 1;
      altered[position] = (altered[position] ?? 0) ^ 0xff;

      await expect(verify(altered)).rejects.toThrow(
        `bad ${which === 'signature' ? 'signature' : 'header'} header magic`,
      );
    },
  );

  it('rejects trailing bytes after the payload as soon as they arrive', async () => {
    const rpm = syntheticRpm();

    await expect(verify(Buffer.concat([rpm, Buffer.from('x')]))).rejects.toThrow('the signature announces');
  });

  it('stops a body that never ends once it passes the size the signature announces', async () => {
    const rpm = syntheticRpm({ payloadBytes: 1000 });
    let sent = 0;
    const endless = new Readable({
      read() {
        // The RPM, then zeros for ever: only the announced size can stop it.
        const chunk = sent === 0 ? rpm : Buffer.alloc(64 * 1024);
        sent += chunk.length;
        this.push(chunk);
      },
    });

    await expect(
      pipeline(endless, new RpmVerifier(), new Writable({ write: (_chunk, _encoding, done) => done() })),
    ).rejects.toThrow('the signature announces');
    expect(sent).toBeLessThan(rpm.length + 1024 * 1024);
  });

  it.each([
    ['signature', 96 + 8, 33, 'signature header sizes out of range (33 tags'],
    ['signature', 96 + 12, 64 * 1024 * 1024 + 1, 'signature header sizes out of range'],
  ] as const)('holds the %s header to what rpm accepts (%d: %d)', async (_which, offset, value, message) => {
    const rpm = syntheticRpm();
    rpm.writeUInt32BE(value, offset);

    await expect(verify(rpm)).rejects.toThrow(message);
  });

  it.each([
    ['an HTML page', Buffer.from('<html>'.padEnd(500, ' '))],
    ['an empty body', Buffer.alloc(0)],
    ['random bytes', Buffer.alloc(4096, 7)],
  ])('rejects %s as not an RPM', async (_name, bytes) => {
    await expect(verify(bytes)).rejects.toThrow(RpmVerificationError);
  });

  it('rejects absurd header sizes before buffering them', async () => {
    const rpm = syntheticRpm();
    rpm.writeUInt32BE(0x7fffffff, 96 + 12);

    await expect(verify(rpm)).rejects.toThrow('out of range');
  });

  describe('the package its file name announces (N-V-R.A.rpm)', () => {
    const FIXTURE = 'demo-c++-1.0^20260101git-1.noarch.rpm';
    const real = readFileSync(new URL(`../fixtures/${FIXTURE}`, import.meta.url));

    it('passes a real RPM under its own name', async () => {
      expect(await verify(real, [], FIXTURE)).toEqual(real);
    });

    it.each([
      ['another package', 'bash-5.3.0-2.fc44.x86_64.rpm'],
      ['another version', 'demo-c++-1.1-1.noarch.rpm'],
      ['another release', 'demo-c++-1.0^20260101git-2.noarch.rpm'],
      ['another arch', 'demo-c++-1.0^20260101git-1.x86_64.rpm'],
      ['its source package', 'demo-c++-1.0^20260101git-1.src.rpm'],
    ])('refuses a valid RPM served under the name of %s, before its payload', async (_name, fileName) => {
      await expect(verify(real, [], fileName)).rejects.toThrow(
        `the file holds demo-c++-1.0^20260101git-1.noarch.rpm, not the ${fileName} its name announces`,
      );
    });

    it.each([
      ['a source package', 'hello-2.12-1.fc44.src.rpm'],
      ['a nosrc package', 'hello-2.12-1.fc44.nosrc.rpm'],
      ['a name with dashes and a dotted release', 'python3-foo-bar-1.2.3-4.el9_2.1.aarch64.rpm'],
    ])('passes %s under its own name', async (_name, fileName) => {
      const rpm = syntheticRpm({ fileName });

      expect(await verify(rpm, [], fileName)).toEqual(rpm);
    });

    it('refuses a binary package served as its source package', async () => {
      const rpm = syntheticRpm({ fileName: 'hello-2.12-1.fc44.x86_64.rpm' });

      await expect(verify(rpm, [], 'hello-2.12-1.fc44.src.rpm')).rejects.toThrow(
        'the file holds hello-2.12-1.fc44.x86_64.rpm',
      );
    });

    it.each(['package-latest.rpm', 'google-chrome-stable_current_x86_64.rpm'])(
      'checks %s, whose name follows no convention, on its digests alone',
      async (fileName) => {
        expect(await verify(real, [], fileName)).toEqual(real);
      },
    );
  });
});
