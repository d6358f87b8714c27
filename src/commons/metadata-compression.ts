/**
 * How a repository's metadata file is decompressed, by its name: createrepo_c
 * writes gzip, zstd, xz or bzip2, and Node reads the first two. Node's zstd
 * (22.15 and 23.8 on) is looked up, not imported by name, so what bundles this
 * still loads on Node 20 (the CLI's promise), where only zstd is out of reach.
 */
import type { Transform } from 'node:stream';
import * as zlib from 'node:zlib';

const createZstdDecompress = (zlib as { createZstdDecompress?: () => Transform }).createZstdDecompress;

/** Whether this Node can read zstd. */
export const HAS_ZSTD = createZstdDecompress !== undefined;

/** A decompressor for `href`, `plain` for uncompressed XML, undefined when this Node cannot read it. */
export const decompressorOf = (href: string): (() => Transform) | 'plain' | undefined => {
  if (href.endsWith('.xml')) return 'plain';
  if (href.endsWith('.gz')) return zlib.createGunzip;
  if (href.endsWith('.zst')) return createZstdDecompress;
  return undefined;
};
