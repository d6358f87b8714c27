/**
 * Repository metadata, as both Lambdas see it: which request paths are a
 * repository's metadata (repomd.xml, its companions, the files it lists), and
 * whether what the origin serves now is a given repomd.xml. Snapshots of that
 * metadata, and the manifest that makes one current: snapshot-manifest.ts.
 */

export const SNAPSHOT_KEY_PREFIX = 'snapshots/';

/** repomd.xml's path inside its repository: what a snapshot is made from, and the manifest's key for it. */
export const REPOMD = 'repodata/repomd.xml';
/**
 * Files beside repomd.xml that belong to it when the origin has them: zypper
 * asks for all three before it reads repomd.xml (and tolerates their absence).
 */
export const REPOMD_COMPANIONS = ['repodata/repomd.xml.asc', 'repodata/repomd.xml.key', 'media.1/media'] as const;

/**
 * What a path is to the repository snapshots:
 * - `repomd`: `<repo>/repodata/repomd.xml`;
 * - `companion`: a file that belongs to repomd.xml (`.asc`, `.key`, `media.1/media`);
 * - `listed`: any other file directly under `<repo>/repodata/`, which a
 *   snapshot may list.
 * `repoDir` is the repository's directory with its trailing slash (empty for
 * the origin's root), `file` the path inside it (`repodata/primary.xml.gz`).
 */
export interface RepodataPath {
  readonly kind: 'repomd' | 'companion' | 'listed';
  readonly repoDir: string;
  readonly file: string;
}

export const repodataPath = (path: string): RepodataPath | undefined => {
  const match = /^((?:.*\/)?)(repodata\/[^/]+|media\.1\/media)$/.exec(path);
  if (match === null) return undefined;
  const [, repoDir = '', file = ''] = match;
  const kind =
    file === REPOMD ? 'repomd' : (REPOMD_COMPANIONS as readonly string[]).includes(file) ? 'companion' : 'listed';
  return { kind, repoDir, file };
};

/**
 * Whether a listed file's name carries its checksum (createrepo_c's default,
 * `<hex>-primary.xml.gz`): such a name means the same bytes in every version
 * of the repository, so any snapshot that lists it may serve it. A plain name
 * (`--simple-md-filenames`) is overwritten by the next version in place.
 */
export const isContentNamed = (file: string, checksum?: string): boolean => {
  const name = file.slice(file.lastIndexOf('/') + 1);
  if (checksum !== undefined) return name.startsWith(`${checksum}-`);
  return /^[0-9a-f]{32,128}-/.test(name);
};

/** The path of the repomd.xml whose snapshot an uploader takes: the uploader's event path. */
export const isSnapshotRequest = (path: string): boolean => repodataPath(path)?.file === REPOMD;

/** The repomd.xml path of a repository. */
export const repomdPath = (repoDir: string): string => `${repoDir}${REPOMD}`;

/** What the origin said about repomd.xml when the snapshot was taken: compared with a later HEAD. */
export interface OriginValidators {
  readonly etag?: string;
  readonly lastModified?: string;
  readonly contentLength?: number;
}

/** An ETag without its weak marker: a weak and a strong ETag of one file compare equal. */
export const strongEtag = (etag: string): string => etag.replace(/^W\//, '');

/**
 * Whether what the origin serves now (its HEAD's validators) is the snapshot's
 * repomd.xml: the same ETag when both have one, else the same Last-Modified
 * and length. When the origin gives too little to tell, it is not a match: the
 * uploader then compares the bytes themselves, so a doubtful match costs one
 * small GET, never a second snapshot of the same repomd.xml.
 */
export const sameRepomd = (snapshot: OriginValidators, origin: OriginValidators): boolean => {
  if (snapshot.etag !== undefined && origin.etag !== undefined) {
    return strongEtag(snapshot.etag) === strongEtag(origin.etag);
  }
  return (
    snapshot.lastModified !== undefined &&
    snapshot.lastModified === origin.lastModified &&
    snapshot.contentLength !== undefined &&
    snapshot.contentLength === origin.contentLength
  );
};

/** The validators of an origin answer. */
export const validatorsOf = (headers: { get(name: string): string | null }): OriginValidators => {
  const etag = headers.get('etag') ?? undefined;
  const lastModified = headers.get('last-modified') ?? undefined;
  const length = headers.get('content-length');
  return {
    ...(etag === undefined ? {} : { etag }),
    ...(lastModified === undefined ? {} : { lastModified }),
    ...(length !== null && /^\d+$/.test(length) ? { contentLength: Number(length) } : {}),
  };
};
