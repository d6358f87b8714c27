/**
 * Checks an RPM against its own digests while it streams, with no repodata
 * and no second pass. An RPM is: a 96-byte lead; a signature header (padded
 * to 8 bytes) whose tags give the size of header+payload and digests of the
 * header (and of header+payload); the main header, whose tags give a digest
 * of the payload; then the payload.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { fileNameOf, identityOfFileName, type RpmIdentity } from './rpm-name.js';

/** The file is not a complete, unaltered RPM. Permanent for that origin response. */
export class RpmVerificationError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RpmVerificationError';
  }
}

const LEAD_BYTES = 96;
const LEAD_MAGIC = 0xedabeedb;
const HEADER_MAGIC = Buffer.from([0x8e, 0xad, 0xe8, 0x01]);
const HEADER_INTRO_BYTES = 16;
const INDEX_ENTRY_BYTES = 16;
/**
 * rpm itself refuses headers above these sizes (lib/header.c,
 * hdrblobVerifyLengths: HEADER_TAGS_MAX, HEADER_DATA_MAX, and for the
 * signature header 32 tags and 64 MiB); they also bound what is buffered here.
 */
const HEADER_LIMITS = {
  header: { maxEntries: 0xffff, maxDataBytes: 0x0fffffff },
  signature: { maxEntries: 32, maxDataBytes: 64 * 1024 * 1024 },
} as const;

// Signature header tags.
const SIGTAG_SIZE = 1000;
const SIGTAG_LONGSIZE = 270;
const SIGTAG_SHA1 = 269;
const SIGTAG_SHA256 = 273;
/** rpm 6 (v6 packages): SHA3-256 of the main header, beside SHA256; v6 signatures carry no size tags. */
const SIGTAG_SHA3_256 = 279;
const SIGTAG_MD5 = 1004;
// Main header tags.
const RPMTAG_NAME = 1000;
const RPMTAG_VERSION = 1001;
const RPMTAG_RELEASE = 1002;
const RPMTAG_ARCH = 1022;
/** Present in binary packages only: rpm tells a source package by its absence. */
const RPMTAG_SOURCERPM = 1044;
/** A source package that leaves sources or patches out is a `nosrc` package. */
const RPMTAG_NOSOURCE = 1051;
const RPMTAG_NOPATCH = 1052;
const RPMTAG_PAYLOADDIGEST = 5092;
const RPMTAG_PAYLOADDIGESTALGO = 5093;
/** rpm 6: SHA3-256 of the payload as stored (v6 packages always carry it, beside PAYLOADDIGEST/PAYLOADSHA256). */
const RPMTAG_PAYLOADSHA3_256 = 5123;

// Tag types.
const TYPE_INT32 = 4;
const TYPE_INT64 = 5;
const TYPE_STRING = 6;
const TYPE_BIN = 7;
const TYPE_STRING_ARRAY = 8;

/** OpenPGP hash algorithm ids, as rpm stores them, and their Node names. */
const PAYLOAD_DIGEST_ALGORITHMS: Readonly<Record<number, string>> = {
  1: 'md5',
  2: 'sha1',
  8: 'sha256',
  9: 'sha384',
  10: 'sha512',
  11: 'sha224',
};

interface IndexEntry {
  readonly tag: number;
  readonly type: number;
  readonly offset: number;
  readonly count: number;
}

/** A parsed header: its tags, and the data store they point into. */
class HeaderTags {
  private readonly entries = new Map<number, IndexEntry>();

  constructor(
    index: Buffer,
    private readonly store: Buffer,
  ) {
    for (let position = 0; position + INDEX_ENTRY_BYTES <= index.length; position += INDEX_ENTRY_BYTES) {
      const entry = {
        tag: index.readUInt32BE(position),
        type: index.readUInt32BE(position + 4),
        offset: index.readUInt32BE(position + 8),
        count: index.readUInt32BE(position + 12),
      };
      this.entries.set(entry.tag, entry);
    }
  }

  has(tag: number): boolean {
    return this.entries.has(tag);
  }

  private entry(tag: number, type: number): IndexEntry | undefined {
    const entry = this.entries.get(tag);
    if (entry === undefined) return undefined;
    if (entry.type !== type || entry.offset >= this.store.length) {
      throw new RpmVerificationError(`header tag ${tag} is malformed`);
    }
    return entry;
  }

  int(tag: number): number | undefined {
    const entry = this.entries.get(tag);
    if (entry === undefined) return undefined;
    const width = entry.type === TYPE_INT32 ? 4 : entry.type === TYPE_INT64 ? 8 : 0;
    if (width === 0 || entry.offset + width > this.store.length) {
      throw new RpmVerificationError(`header tag ${tag} is malformed`);
    }
    return width === 4 ? this.store.readUInt32BE(entry.offset) : Number(this.store.readBigUInt64BE(entry.offset));
  }

  /** A STRING, or the first element of a STRING_ARRAY. */
  string(tag: number): string | undefined {
    const type = this.entries.get(tag)?.type;
    const entry = this.entry(tag, type === TYPE_STRING_ARRAY ? TYPE_STRING_ARRAY : TYPE_STRING);
    if (entry === undefined) return undefined;
    const end = this.store.indexOf(0, entry.offset);
    if (end === -1) throw new RpmVerificationError(`header tag ${tag} is not terminated`);
    return this.store.toString('latin1', entry.offset, end);
  }

  binary(tag: number): Buffer | undefined {
    const entry = this.entry(tag, TYPE_BIN);
    if (entry === undefined) return undefined;
    if (entry.offset + entry.count > this.store.length) throw new RpmVerificationError(`header tag ${tag} overruns`);
    return this.store.subarray(entry.offset, entry.offset + entry.count);
  }
}

/**
 * The stages the stream goes through, each reading a fixed number of bytes
 * known from the one before (all integers big-endian):
 *
 * | stage               | bytes                      | reads                                  | covered by              |
 * |---------------------|----------------------------|----------------------------------------|-------------------------|
 * | `lead`              | 96                         | magic `ed ab ee db`                    | nothing                 |
 * | `signature-intro`   | 16                         | magic `8e ad e8 01`, tag count, data size | nothing              |
 * | `signature`         | 16 per tag + data          | SIZE/LONGSIZE, SHA256/SHA1, MD5        | nothing                 |
 * | `signature-padding` | to a multiple of 8         | (nothing)                              | nothing                 |
 * | `header-intro`      | 16                         | magic, tag count, data size            | SHA256/SHA1, MD5, SIZE  |
 * | `header`            | 16 per tag + data          | PAYLOADDIGEST, PAYLOADDIGESTALGO       | SHA256/SHA1, MD5, SIZE  |
 * | `payload`           | the rest, to the end       | (streamed through)                     | payload digest, MD5, SIZE |
 *
 * At the end: header+payload bytes must equal SIZE (or LONGSIZE) when the
 * signature gives one (rpm 6's v6 signatures do not: their payload digests
 * catch a truncation); the main header's SHA256 and SHA3-256 (SHA1 in old
 * RPMs) must match; MD5 of header+payload, when the signature has it; the
 * payload digest and SHA3-256, when the header has them. Some digest must
 * cover the payload: its length alone proves nothing.
 */
type Stage = 'lead' | 'signature-intro' | 'signature' | 'signature-padding' | 'header-intro' | 'header' | 'payload';

/**
 * A pass-through stream that fails, instead of ending, when the bytes are
 * not a complete RPM matching its own size and digests.
 */
export class RpmVerifier extends Transform {
  /** What the file name says the package is; its header must agree (undefined: the name follows no convention). */
  private readonly announced: RpmIdentity | undefined;
  private stage: Stage = 'lead';
  /** Bytes the current stage still needs before it can be parsed. */
  private needed = LEAD_BYTES;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private signatureIndexEntries = 0;
  private headerIndexEntries = 0;
  private signature: HeaderTags | undefined;
  private header: HeaderTags | undefined;
  private readonly headerHash = {
    sha256: createHash('sha256'),
    sha1: createHash('sha1'),
    sha3: createHash('sha3-256'),
  };
  private readonly headerAndPayloadMd5 = createHash('md5');
  private headerAndPayloadBytes = 0;
  /** Header+payload bytes the signature announces (LONGSIZE, else SIZE), once it is read. */
  private announcedSize: number | undefined;
  private payloadHash: Hash | undefined;
  private expectedPayloadDigest: string | undefined;
  private payloadSha3: Hash | undefined;
  private expectedPayloadSha3: string | undefined;

  /**
   * @param fileName the name the file was asked for (`N-V-R.A.rpm`): a valid RPM of another package
   * served under it is refused. A name that does not follow the convention is not checked.
   */
  constructor(fileName?: string) {
    super();
    this.announced = fileName === undefined ? undefined : identityOfFileName(fileName);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.consume(chunk);
      callback(null, chunk);
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.verify();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  private consume(chunk: Buffer): void {
    let rest = chunk;
    while (rest.length > 0) {
      if (this.stage === 'payload') {
        this.countHeaderAndPayload(rest);
        this.payloadHash?.update(rest);
        this.payloadSha3?.update(rest);
        return;
      }
      const taken = rest.subarray(0, this.needed - this.pendingBytes);
      rest = rest.subarray(taken.length);
      this.pending.push(taken);
      this.pendingBytes += taken.length;
      if (this.stage === 'header-intro' || this.stage === 'header') {
        this.headerHash.sha256.update(taken);
        this.headerHash.sha1.update(taken);
        this.headerHash.sha3.update(taken);
        this.countHeaderAndPayload(taken);
      }
      if (this.pendingBytes === this.needed) {
        const section = Buffer.concat(this.pending, this.pendingBytes);
        this.pending = [];
        this.pendingBytes = 0;
        this.advance(section);
      }
    }
  }

  private countHeaderAndPayload(bytes: Buffer): void {
    this.headerAndPayloadBytes += bytes.length;
    // An origin that never stops must not hold the uploader for its whole timeout.
    if (this.announcedSize !== undefined && this.headerAndPayloadBytes > this.announcedSize) {
      throw new RpmVerificationError(
        `more than the ${this.announcedSize} bytes of header and payload the signature announces`,
      );
    }
    this.headerAndPayloadMd5.update(bytes);
  }

  /** Parses a complete section and sets up the next one. */
  private advance(section: Buffer): void {
    switch (this.stage) {
      case 'lead':
        if (section.readUInt32BE(0) !== LEAD_MAGIC) throw new RpmVerificationError('not an RPM (bad lead magic)');
        this.expect('signature-intro', HEADER_INTRO_BYTES);
        return;
      case 'signature-intro': {
        const { entries, dataBytes } = this.readIntro(section, 'signature');
        this.signatureIndexEntries = entries;
        this.expect('signature', entries * INDEX_ENTRY_BYTES + dataBytes);
        return;
      }
      case 'signature': {
        const indexBytes = this.signatureIndexEntries * INDEX_ENTRY_BYTES;
        this.signature = new HeaderTags(section.subarray(0, indexBytes), section.subarray(indexBytes));
        this.announcedSize = this.signature.int(SIGTAG_LONGSIZE) ?? this.signature.int(SIGTAG_SIZE);
        const padding = (8 - ((section.length - indexBytes) % 8)) % 8;
        if (padding > 0) this.expect('signature-padding', padding);
        else this.expect('header-intro', HEADER_INTRO_BYTES);
        return;
      }
      case 'signature-padding':
        this.expect('header-intro', HEADER_INTRO_BYTES);
        return;
      case 'header-intro': {
        const { entries, dataBytes } = this.readIntro(section, 'header');
        this.headerIndexEntries = entries;
        this.expect('header', entries * INDEX_ENTRY_BYTES + dataBytes);
        return;
      }
      case 'header': {
        const indexBytes = this.headerIndexEntries * INDEX_ENTRY_BYTES;
        this.header = new HeaderTags(section.subarray(0, indexBytes), section.subarray(indexBytes));
        this.checkIdentity(this.header);
        this.startPayloadDigest(this.header);
        this.stage = 'payload';
        return;
      }
      case 'payload':
        return;
    }
  }

  private expect(stage: Stage, bytes: number): void {
    this.stage = stage;
    this.needed = bytes;
  }

  private readIntro(intro: Buffer, what: keyof typeof HEADER_LIMITS): { entries: number; dataBytes: number } {
    if (!intro.subarray(0, 4).equals(HEADER_MAGIC)) throw new RpmVerificationError(`bad ${what} header magic`);
    const entries = intro.readUInt32BE(8);
    const dataBytes = intro.readUInt32BE(12);
    const { maxEntries, maxDataBytes } = HEADER_LIMITS[what];
    if (entries < 1 || entries > maxEntries || dataBytes > maxDataBytes) {
      throw new RpmVerificationError(`${what} header sizes out of range (${entries} tags, ${dataBytes} bytes)`);
    }
    return { entries, dataBytes };
  }

  /** Before a payload byte is stored: the header names the package the file name announces. */
  private checkIdentity(header: HeaderTags): void {
    if (this.announced === undefined) return;
    const source = !header.has(RPMTAG_SOURCERPM);
    const inside: RpmIdentity = {
      name: header.string(RPMTAG_NAME) ?? '',
      version: header.string(RPMTAG_VERSION) ?? '',
      release: header.string(RPMTAG_RELEASE) ?? '',
      arch: source
        ? header.has(RPMTAG_NOSOURCE) || header.has(RPMTAG_NOPATCH)
          ? 'nosrc'
          : 'src'
        : (header.string(RPMTAG_ARCH) ?? ''),
    };
    if (fileNameOf(inside) !== fileNameOf(this.announced)) {
      throw new RpmVerificationError(
        `the file holds ${fileNameOf(inside)}, not the ${fileNameOf(this.announced)} its name announces`,
      );
    }
  }

  private startPayloadDigest(header: HeaderTags): void {
    this.expectedPayloadSha3 = header.string(RPMTAG_PAYLOADSHA3_256)?.toLowerCase();
    if (this.expectedPayloadSha3 !== undefined) this.payloadSha3 = createHash('sha3-256');
    this.expectedPayloadDigest = header.string(RPMTAG_PAYLOADDIGEST)?.toLowerCase();
    if (this.expectedPayloadDigest === undefined) return;
    const algorithmId = header.int(RPMTAG_PAYLOADDIGESTALGO) ?? 8;
    const algorithm = PAYLOAD_DIGEST_ALGORITHMS[algorithmId];
    if (algorithm === undefined) throw new RpmVerificationError(`unknown payload digest algorithm ${algorithmId}`);
    this.payloadHash = createHash(algorithm);
  }

  private verify(): void {
    const { signature } = this;
    if (this.stage !== 'payload' || signature === undefined) {
      throw new RpmVerificationError(`file ends inside the RPM ${this.stage}: truncated or not an RPM`);
    }
    const md5 = signature.binary(SIGTAG_MD5);
    // What cannot be verified is not stored: some digest must cover every payload byte.
    if (this.payloadHash === undefined && this.payloadSha3 === undefined && md5 === undefined) {
      throw new RpmVerificationError('no digest covers the payload (no payload digest, no MD5): it cannot be verified');
    }
    const expectedSize = this.announcedSize;
    // v6 signatures carry no size: there, the payload digests (checked below) catch a truncation.
    if (expectedSize === undefined && this.payloadHash === undefined && this.payloadSha3 === undefined) {
      throw new RpmVerificationError('the signature header gives no size');
    }
    if (expectedSize !== undefined && expectedSize !== this.headerAndPayloadBytes) {
      throw new RpmVerificationError(
        `header and payload are ${this.headerAndPayloadBytes} bytes, the signature says ${expectedSize}`,
      );
    }
    this.verifyHeaderDigests(signature);
    if (md5 !== undefined && !md5.equals(this.headerAndPayloadMd5.digest())) {
      throw new RpmVerificationError('header and payload MD5 does not match the signature');
    }
    if (this.payloadHash !== undefined && this.payloadHash.digest('hex') !== this.expectedPayloadDigest) {
      throw new RpmVerificationError('payload digest does not match the header');
    }
    if (this.payloadSha3 !== undefined && this.payloadSha3.digest('hex') !== this.expectedPayloadSha3) {
      throw new RpmVerificationError('payload SHA3-256 does not match the header');
    }
  }

  /** The main header against every digest of it the signature gives (SHA1 only when there is nothing stronger). */
  private verifyHeaderDigests(signature: HeaderTags): void {
    const sha256 = signature.string(SIGTAG_SHA256)?.toLowerCase();
    const sha3 = signature.string(SIGTAG_SHA3_256)?.toLowerCase();
    const sha1 = signature.string(SIGTAG_SHA1)?.toLowerCase();
    if (sha256 === undefined && sha3 === undefined && sha1 === undefined) {
      throw new RpmVerificationError('the signature header gives no header digest');
    }
    if (sha256 !== undefined && sha256 !== this.headerHash.sha256.digest('hex')) {
      throw new RpmVerificationError('header SHA256 does not match the signature');
    }
    if (sha3 !== undefined && sha3 !== this.headerHash.sha3.digest('hex')) {
      throw new RpmVerificationError('header SHA3-256 does not match the signature');
    }
    if (sha256 === undefined && sha3 === undefined && sha1 !== this.headerHash.sha1.digest('hex')) {
      throw new RpmVerificationError('header SHA1 does not match the signature');
    }
  }
}
