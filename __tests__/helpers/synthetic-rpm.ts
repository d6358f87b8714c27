import { createHash, randomBytes } from 'node:crypto';
import { identityOfFileName } from '../../src/uploader/rpm-name.js';

/**
 * Builds a small but well-formed RPM in memory (lead, signature header with
 * size, header SHA256 and MD5, main header with a payload digest, payload),
 * so unit tests can check verification without rpmbuild. `rpm -K` accepts it.
 */

type Tag =
  | { readonly tag: number; readonly type: 4; readonly value: number }
  | { readonly tag: number; readonly type: 5; readonly value: bigint }
  | { readonly tag: number; readonly type: 6 | 8; readonly value: string }
  | { readonly tag: number; readonly type: 7; readonly value: Buffer };

const ALIGNMENT: Readonly<Record<number, number>> = { 4: 4, 5: 8, 6: 1, 7: 1, 8: 1 };

const headerBlob = (tags: readonly Tag[]): Buffer => {
  const index: Buffer[] = [];
  const store: Buffer[] = [];
  let storeBytes = 0;
  for (const tag of [...tags].sort((a, b) => a.tag - b.tag)) {
    const padding = (ALIGNMENT[tag.type] ?? 1) - (storeBytes % (ALIGNMENT[tag.type] ?? 1));
    if (padding !== (ALIGNMENT[tag.type] ?? 1)) {
      store.push(Buffer.alloc(padding));
      storeBytes += padding;
    }
    let data: Buffer;
    switch (tag.type) {
      case 4:
        data = Buffer.alloc(4);
        data.writeUInt32BE(tag.value);
        break;
      case 5:
        data = Buffer.alloc(8);
        data.writeBigUInt64BE(tag.value);
        break;
      case 6:
      case 8:
        data = Buffer.from(`${tag.value}\0`, 'latin1');
        break;
      case 7:
        data = tag.value;
        break;
    }
    const entry = Buffer.alloc(16);
    entry.writeUInt32BE(tag.tag, 0);
    entry.writeUInt32BE(tag.type, 4);
    entry.writeUInt32BE(storeBytes, 8);
    entry.writeUInt32BE(tag.type === 7 ? data.length : 1, 12);
    index.push(entry);
    store.push(data);
    storeBytes += data.length;
  }
  const intro = Buffer.alloc(16);
  Buffer.from([0x8e, 0xad, 0xe8, 0x01]).copy(intro, 0);
  intro.writeUInt32BE(index.length, 8);
  intro.writeUInt32BE(storeBytes, 12);
  return Buffer.concat([intro, ...index, ...store]);
};

const lead = (): Buffer => {
  const bytes = Buffer.alloc(96);
  bytes.writeUInt32BE(0xedabeedb, 0);
  bytes.writeUInt8(3, 4);
  bytes.writeUInt16BE(0, 6);
  bytes.writeUInt16BE(1, 8);
  bytes.write('synthetic-1.0-1', 10, 'latin1');
  bytes.writeUInt16BE(1, 76);
  bytes.writeUInt16BE(5, 78);
  return bytes;
};

export interface SyntheticRpmOptions {
  /**
   * The file name it is served under (`N-V-R.A.rpm`): its header names that package, as the uploader
   * checks. Default `synthetic-1.0-1.noarch.rpm`.
   */
  readonly fileName?: string;
  readonly payloadBytes?: number;
  readonly payload?: Buffer;
  /** Leave the payload digest out of the main header (older RPMs). */
  readonly withoutPayloadDigest?: boolean;
  /** Use LONGSIZE (INT64) instead of SIZE. */
  readonly longSize?: boolean;
  /** Leave the header+payload MD5 out of the signature (FIPS builds, v6 packages). */
  readonly withoutMd5?: boolean;
  /** The signature's header digest: SHA256 (default), or SHA1 only (old RPMs). */
  readonly headerDigest?: 'sha256' | 'sha1';
  /**
   * `v6`: as rpm 6 writes packages: no size, MD5 or SHA1 in the signature (SHA256 and SHA3-256 of
   * the header), a SHA-256 and a SHA3-256 of the payload in the header, no PAYLOADDIGESTALGO.
   */
  readonly format?: 'v4' | 'v6';
  /** The payload digest's algorithm (RPMTAG_PAYLOADDIGESTALGO); sha256 by default. */
  readonly payloadDigestAlgorithm?: keyof typeof PAYLOAD_DIGEST_ALGORITHM_IDS;
}

/** OpenPGP hash algorithm ids, as rpm stores them. */
export const PAYLOAD_DIGEST_ALGORITHM_IDS = { md5: 1, sha1: 2, sha256: 8, sha384: 9, sha512: 10, sha224: 11 } as const;

/**
 * Everything before the payload of a synthetic RPM whose payload is the
 * concatenation of `payloadChunks()` (read twice, for its digests), so large
 * RPMs can be served as a stream without being held in memory.
 */
export const syntheticRpmPrefix = (
  payloadChunks: () => Iterable<Buffer>,
  {
    fileName = 'synthetic-1.0-1.noarch.rpm',
    format = 'v4',
    withoutPayloadDigest = false,
    longSize = false,
    withoutMd5 = false,
    headerDigest = 'sha256',
    payloadDigestAlgorithm = 'sha256',
  }: Omit<SyntheticRpmOptions, 'payload' | 'payloadBytes'> = {},
): Buffer => {
  const payloadSha256 = createHash(format === 'v6' ? 'sha256' : payloadDigestAlgorithm);
  const payloadSha3 = createHash('sha3-256');
  let payloadBytes = 0;
  for (const chunk of payloadChunks()) {
    payloadSha256.update(chunk);
    payloadSha3.update(chunk);
    payloadBytes += chunk.length;
  }
  const identity = identityOfFileName(fileName);
  if (identity === undefined) throw new Error(`${fileName} is not N-V-R.A.rpm`);
  const { name, version, release, arch } = identity;
  const source = arch === 'src' || arch === 'nosrc';
  const header = headerBlob([
    { tag: 1000, type: 6, value: name },
    { tag: 1001, type: 6, value: version },
    { tag: 1002, type: 6, value: release },
    { tag: 1004, type: 6, value: 'rpm-cache test package' },
    // A source package has no SOURCERPM; its ARCH is the build host's.
    { tag: 1022, type: 6, value: source ? 'x86_64' : arch },
    ...(source ? [] : [{ tag: 1044, type: 6, value: `${name}-${version}-${release}.src.rpm` } as const]),
    ...(arch === 'nosrc' ? [{ tag: 1051, type: 4, value: 0 } as const] : []),
    ...(format === 'v6'
      ? [
          { tag: 5092, type: 8, value: payloadSha256.digest('hex') } as const,
          { tag: 5123, type: 6, value: payloadSha3.digest('hex') } as const,
        ]
      : withoutPayloadDigest
        ? []
        : [
            { tag: 5092, type: 8, value: payloadSha256.digest('hex') } as const,
            { tag: 5093, type: 4, value: PAYLOAD_DIGEST_ALGORITHM_IDS[payloadDigestAlgorithm] } as const,
          ]),
  ]);
  const md5 = createHash('md5').update(header);
  for (const chunk of payloadChunks()) md5.update(chunk);
  const size = header.length + payloadBytes;
  const signature = headerBlob(
    format === 'v6'
      ? [
          { tag: 273, type: 6, value: createHash('sha256').update(header).digest('hex') },
          { tag: 279, type: 6, value: createHash('sha3-256').update(header).digest('hex') },
        ]
      : v4Signature(),
  );
  function v4Signature(): Tag[] {
    return [
      longSize ? { tag: 270, type: 5, value: BigInt(size) } : { tag: 1000, type: 4, value: size },
      headerDigest === 'sha256'
        ? { tag: 273, type: 6, value: createHash('sha256').update(header).digest('hex') }
        : { tag: 269, type: 6, value: createHash('sha1').update(header).digest('hex') },
      ...(withoutMd5 ? [] : [{ tag: 1004, type: 7, value: md5.digest() } as const]),
    ];
  }
  const storeBytes = signature.readUInt32BE(12);
  const padding = Buffer.alloc((8 - (storeBytes % 8)) % 8);
  return Buffer.concat([lead(), signature, padding, header]);
};

export const syntheticRpm = ({
  payloadBytes = 4096,
  payload = randomBytes(payloadBytes),
  ...options
}: SyntheticRpmOptions = {}): Buffer => Buffer.concat([syntheticRpmPrefix(() => [payload], options), payload]);

/** A synthetic RPM whose header names the package `path` announces. */
export const syntheticRpmFor = (path: string, options: Omit<SyntheticRpmOptions, 'fileName'> = {}): Buffer =>
  syntheticRpm({ ...options, fileName: path.slice(path.lastIndexOf('/') + 1) });
