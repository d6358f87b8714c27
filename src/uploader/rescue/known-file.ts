/**
 * What the cache knows a lost file must be, before it trusts an archive
 * with it: the SHA-256 (and size, and source package) that a snapshot of
 * its repository listed, or else the one the request carried. A snapshot
 * wins over the request: the cache verified that snapshot itself.
 */

import { paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { isS3NotFound } from '../../commons/aws-errors.js';
import { readObjectText } from '../../commons/cache-store.js';
import { type PrimaryPackage, primaryPackageAt, sourceRpmIdentity } from '../../commons/primary-packages.js';
import { REPOMD } from '../../commons/repodata.js';
import type { Expectation } from '../../commons/rescue-request.js';
import { historyPrefix, parseHistoryKey } from '../../commons/snapshot-history.js';
import { parseManifest, type SnapshotFiles } from '../../commons/snapshot-manifest.js';
import { nearestSnapshot } from '../repository-listing.js';
import { identityOfFileName } from '../rpm-name.js';
import { openSnapshotPrimary, SnapshotPrimaryError } from '../snapshot-primary.js';
import { factsOfFile, type RescueFacts } from './templates.js';

/** A file the cache knows well enough to rescue. */
export interface KnownFile {
  /** Lowercase hex. */
  readonly sha256: string;
  readonly size?: number;
  readonly facts: RescueFacts;
  /** Who vouches for the checksum, for logs and refusals. */
  readonly knownFrom: string;
  /** The checksum is a snapshot's (it wins over whatever a request names), not the request's. */
  readonly fromSnapshot: boolean;
}

/**
 * The snapshots searched for a lost file, newest first: the current one and
 * the two before it, where a file superseded by the latest pushes is listed.
 * Each costs a read of its primary.xml (tens of MB decompressed for
 * Fedora's updates), and any request for a path the origin lost may start
 * a search (made-up paths too, once an hour each): a deeper search would
 * let anyone buy seconds of uploader time per request. A file gone for
 * longer is known from a request (`warm`), or was stored by mirroring.
 */
export const MAX_SNAPSHOTS_SEARCHED = 3;

export interface KnownFileDependencies {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly signal: AbortSignal;
}

/** The files of each snapshot of `repoDir` in the history, newest first, read as they are asked for. */
const historyFiles = async function* (
  { s3, bucket, signal }: KnownFileDependencies,
  repoDir: string,
): AsyncGenerator<SnapshotFiles> {
  const prefix = historyPrefix(repoDir);
  const keys: string[] = [];
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix })) {
    for (const { Key } of page.Contents ?? []) {
      if (Key !== undefined && parseHistoryKey(Key, prefix) !== undefined) keys.push(Key);
    }
  }
  // Keys sort by time: the newest last.
  for (const key of keys.reverse()) {
    const text = await readObjectText(s3, bucket, key, signal);
    // Undefined: expired since the listing, one snapshot fewer to search, not a failed rescue.
    const manifest = text === undefined ? undefined : parseManifest(text);
    if (manifest !== undefined) yield manifest.files;
  }
};

/** The entry of `href` in the snapshot with `files`; undefined when it does not list it or cannot be read. */
const listedIn = async (
  deps: KnownFileDependencies,
  repoDir: string,
  files: SnapshotFiles,
  href: string,
): Promise<PrimaryPackage | undefined> => {
  let text: Awaited<ReturnType<typeof openSnapshotPrimary>>;
  try {
    text = await openSnapshotPrimary(deps.s3, { bucket: deps.bucket, repoDir, files }, deps.signal);
  } catch (error) {
    // An older snapshot's files expire with the history (lifecycle): that snapshot cannot say, the others may.
    if (error instanceof SnapshotPrimaryError || isS3NotFound(error)) return undefined;
    throw error;
  }
  try {
    text.setEncoding('utf8');
    return await primaryPackageAt(text, href);
  } finally {
    text.destroy();
  }
};

/** The package's entry in the newest snapshot of its repository that lists it, and which one. */
const fromSnapshots = async (
  deps: KnownFileDependencies,
  path: string,
): Promise<{ readonly entry: PrimaryPackage; readonly repoDir: string } | undefined> => {
  const nearest = await nearestSnapshot(deps.s3, deps.bucket, path, deps.signal);
  if (nearest === undefined) return undefined;
  const { repoDir, current } = nearest;
  const href = path.slice(repoDir.length);
  const searched = new Set<string>();
  // The current snapshot is the history's newest entry too: searched once.
  const snapshotOf = (files: SnapshotFiles) => files[REPOMD]?.key ?? JSON.stringify(files);
  const search = async (files: SnapshotFiles) => {
    const snapshot = snapshotOf(files);
    if (searched.has(snapshot)) return undefined;
    searched.add(snapshot);
    return listedIn(deps, repoDir, files, href);
  };
  const inCurrent = await search(current.manifest.files);
  if (inCurrent !== undefined) return { entry: inCurrent, repoDir };
  for await (const files of historyFiles(deps, repoDir)) {
    if (searched.size >= MAX_SNAPSHOTS_SEARCHED) break;
    const entry = await search(files);
    if (entry !== undefined) return { entry, repoDir };
  }
  return undefined;
};

/** The placeholders a source RPM's file name fills: Koji keeps a build under its source package's name, version and release. */
const sourceFacts = (sourceRpm: string | undefined): RescueFacts => {
  const source = sourceRpm === undefined ? undefined : sourceRpmIdentity(sourceRpm);
  return source === undefined
    ? {}
    : { source_name: source.name, source_version: source.version, source_release: source.release };
};

/**
 * What the cache knows `path` must be, or undefined when it knows no
 * SHA-256 for it (such a file is never rescued). S3 errors throw.
 */
export const knownFile = async (
  path: string,
  expected: Expectation | undefined,
  deps: KnownFileDependencies,
): Promise<KnownFile | undefined> => {
  const file = path.slice(path.lastIndexOf('/') + 1);
  const listed = await fromSnapshots(deps, path);
  if (listed !== undefined && listed.entry.algorithm === 'sha256') {
    const { entry, repoDir } = listed;
    const { name, epoch, version, release, arch, sourceRpm } = entry;
    const identity =
      version === undefined || release === undefined || arch === undefined
        ? identityOfFileName(file)
        : { name, version, release, arch };
    return {
      sha256: entry.checksum,
      ...(entry.size === undefined ? {} : { size: entry.size }),
      facts: {
        ...factsOfFile(file, identity),
        ...(epoch === undefined ? {} : { epoch }),
        ...sourceFacts(sourceRpm),
      },
      knownFrom: `a snapshot of ${repoDir || '/'}`,
      fromSnapshot: true,
    };
  }
  if (expected === undefined) return undefined;
  return {
    sha256: expected.sha256,
    ...(expected.size === undefined ? {} : { size: expected.size }),
    facts: {
      ...factsOfFile(file, identityOfFileName(file)),
      ...sourceFacts(expected.sourceRpm),
    },
    knownFrom: 'the request',
    fromSnapshot: false,
  };
};
