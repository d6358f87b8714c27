/**
 * Which repository each `repo`/`arch` mapped to the last time the mirror
 * manager answered through this cache, kept in S3 at
 * `metalink/<repo>/<arch>.json` (each encoded as one key segment), so that
 * when the service is down the cache can still write the metalink itself
 * (docs/metalink.md, "The service down too").
 *
 * Written when a rewritten answer names a repository other than the one this
 * container last wrote or read for that `repo`/`arch`: a burst of clients
 * writes nothing after the first, and a new container writes each mapping
 * once. Only answers the service gave are recorded, and only for a query
 * naming `repo` and `arch` once each, in mirrormanager's characters: a query
 * repeating one could make the service answer for another repository than
 * the key says (it may read the last value, the key the first), and so
 * record one client's choice for everyone's outage.
 */

import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { readObjectText } from '../../commons/cache-store.js';

/** Where the mappings live in the bucket (the handler role may read and write only there). */
export const LAST_REPOSITORY_PREFIX = 'metalink/';

/** `repo` and `arch` as the client's query names them. */
export interface RepoArch {
  readonly repo: string;
  readonly arch: string;
}

/** Longer values are no repository mirrormanager knows (its names are a few dozen characters). */
const MAX_NAME_LENGTH = 200;

/** The characters of mirrormanager's repository and architecture names (`updates-released-f44`, `x86_64`). */
const NAME = /^[A-Za-z0-9._+-]+$/;

/**
 * The `repo` and `arch` of a query, or undefined when either is missing,
 * given twice, empty, absurdly long or made of other characters.
 */
export const repoArchOf = (query: string | undefined): RepoArch | undefined => {
  const params = new URLSearchParams(query ?? '');
  const repos = params.getAll('repo');
  const arches = params.getAll('arch');
  if (repos.length !== 1 || arches.length !== 1) return undefined;
  const [repo = '', arch = ''] = [repos[0], arches[0]];
  const fits = (value: string) => value.length <= MAX_NAME_LENGTH && NAME.test(value);
  return fits(repo) && fits(arch) ? { repo, arch } : undefined;
};

/** The S3 key of a `repo`/`arch`'s mapping. */
export const lastRepositoryKey = ({ repo, arch }: RepoArch): string =>
  `${LAST_REPOSITORY_PREFIX}${encodeURIComponent(repo)}/${encodeURIComponent(arch)}.json`;

/** What is stored: the repository directory (`pub/.../x86_64/`) and when it was recorded. */
interface StoredMapping {
  readonly repository: string;
  readonly recordedAt: string;
}

const parseMapping = (text: string): string | undefined => {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const { repository } = value as Partial<StoredMapping>;
    return typeof repository === 'string' && repository.endsWith('/') && repository.length > 1 ? repository : undefined;
  } catch {
    return undefined;
  }
};

/** Each request to S3 gets this long: a client is waiting. */
const S3_DEADLINE_MS = 3000;

/** The mappings one container knows, read or written; a bound keeps a container's memory small. */
export class LastRepositories {
  private readonly known = new Map<string, string>();

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly maxEntries = 1000,
  ) {}

  /**
   * Records that `repoArch` maps to `repository`: written to S3 unless this
   * container already wrote or read that. What happened, for the log line.
   */
  async record(repoArch: RepoArch, repository: string): Promise<'written' | 'unchanged'> {
    const key = lastRepositoryKey(repoArch);
    if (this.known.get(key) === repository) return 'unchanged';
    const body: StoredMapping = { repository, recordedAt: new Date().toISOString() };
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: JSON.stringify(body),
        ContentType: 'application/json',
      }),
      { abortSignal: AbortSignal.timeout(S3_DEADLINE_MS) },
    );
    this.remember(key, repository);
    return 'written';
  }

  /** The repository `repoArch` mapped to last, or undefined when none is recorded. S3 errors throw. */
  async read(repoArch: RepoArch): Promise<string | undefined> {
    const key = lastRepositoryKey(repoArch);
    const text = await readObjectText(this.s3, this.bucket, key, AbortSignal.timeout(S3_DEADLINE_MS));
    const repository = text === undefined ? undefined : parseMapping(text);
    if (repository !== undefined) this.remember(key, repository);
    return repository;
  }

  private remember(key: string, repository: string): void {
    this.known.delete(key);
    this.known.set(key, repository);
    if (this.known.size > this.maxEntries) {
      const oldest = this.known.keys().next().value;
      if (oldest !== undefined) this.known.delete(oldest);
    }
  }
}
