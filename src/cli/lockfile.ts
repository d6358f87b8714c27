/**
 * Reads `rpms.lock.yaml` lockfiles (rpm-lockfile-prototype) into the list of
 * packages to warm. Every problem is a LockfileError naming the file and,
 * where it applies, the entry; nothing is returned unless every file parsed.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml, YAMLError } from 'yaml';

export class LockfileError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LockfileError';
  }
}

/** One package a lockfile pins. */
export interface LockedPackage {
  readonly url: string;
  /** The URL's path, decoded once, without the leading slash: what the cache sees. */
  readonly path: string;
  /** The package name, or the file name when the entry has none. */
  readonly name: string;
  readonly size?: number;
  /** Lower-case hex SHA-256. */
  readonly sha256?: string;
  /** The source package's file name (`sourcerpm`), when the lockfile gives one. */
  readonly sourceRpm?: string;
  /** Where it was found, for messages: `rpms.lock.yaml: arches[0].packages[3]`. */
  readonly origin: string;
}

export const SUPPORTED_LOCKFILE_VERSIONS: readonly unknown[] = [1];

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The path a cache serves `url` under: its pathname, decoded once. */
export const cachePathOf = (url: URL): string => {
  const decoded = decodeURIComponent(url.pathname);
  return decoded.replace(/^\/+/, '');
};

const parseEntry = (entry: unknown, where: string): LockedPackage => {
  if (!isRecord(entry)) throw new LockfileError(`${where}: expected a mapping with url, checksum, size, name`);
  const label = typeof entry.name === 'string' ? `${where} (${entry.name})` : where;
  const { url: rawUrl, checksum, size, name, sourcerpm } = entry;
  if (rawUrl === undefined || rawUrl === null || rawUrl === '') throw new LockfileError(`${label}: no url`);
  if (typeof rawUrl !== 'string') throw new LockfileError(`${label}: url ${JSON.stringify(rawUrl)} is not a string`);
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new LockfileError(`${label}: url ${JSON.stringify(rawUrl)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new LockfileError(`${label}: url ${JSON.stringify(rawUrl)} is not http(s)`);
  }
  let path: string;
  try {
    path = cachePathOf(url);
  } catch {
    throw new LockfileError(`${label}: url ${JSON.stringify(rawUrl)} has a broken percent-encoding`);
  }
  if (path === '') throw new LockfileError(`${label}: url ${JSON.stringify(rawUrl)} names no file`);

  let sha256: string | undefined;
  if (checksum !== undefined && checksum !== null) {
    const match = typeof checksum === 'string' ? /^sha256:([0-9a-fA-F]{64})$/.exec(checksum) : null;
    if (match?.[1] === undefined) {
      throw new LockfileError(
        `${label}: checksum ${JSON.stringify(checksum)} is invalid: expected sha256:<64 hex digits>`,
      );
    }
    sha256 = match[1].toLowerCase();
  }
  if (size !== undefined && size !== null && !(typeof size === 'number' && Number.isSafeInteger(size) && size >= 0)) {
    throw new LockfileError(`${label}: size ${JSON.stringify(size)} is invalid: expected a whole number of bytes`);
  }
  const fileName = path.slice(path.lastIndexOf('/') + 1);
  return {
    url: rawUrl,
    path,
    name: typeof name === 'string' && name !== '' ? name : fileName,
    ...(typeof size === 'number' ? { size } : {}),
    ...(sha256 === undefined ? {} : { sha256 }),
    ...(typeof sourcerpm === 'string' && sourcerpm !== '' ? { sourceRpm: sourcerpm } : {}),
    origin: where,
  };
};

/**
 * A YAML error as one line, placed by the file's own line numbers. The parser places an error it finds
 * at the end of the input (an unclosed quote, bracket or brace) on the line after the last newline, a
 * line the file does not have (a 4-line file gets "line 5"): such an error is placed at the end of the
 * file, with the number of its last line.
 */
export const yamlErrorLine = (error: unknown, text: string): string => {
  const message = error instanceof Error ? error.message : String(error);
  // The parser's first line ends with its own "at line L, column C:"; the snippet after it is multi-line.
  const what = (message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
  if (!(error instanceof YAMLError) || error.linePos === undefined) return what;
  const lines = text.split(/\r\n|\r|\n/);
  // A final newline ends the last line; it starts none.
  const lastLine = lines.at(-1) === '' ? lines.length - 1 : lines.length;
  const [{ line, col }] = error.linePos;
  if (error.pos[0] >= text.length || line > lastLine) return `${what} at the end of the file (after line ${lastLine})`;
  return `${what} at line ${line}, column ${col}`;
};

/** Something about a lockfile worth saying that is not an error (module metadata not warmed). */
export type LockfileNote = (note: string) => void;

/** Parses the text of one lockfile; `file` names it in errors and notes. */
export const parseLockfile = (text: string, file: string, onNote: LockfileNote = () => undefined): LockedPackage[] => {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new LockfileError(`${file}: not YAML: ${yamlErrorLine(error, text)}`, { cause: error });
  }
  if (!isRecord(document)) {
    throw new LockfileError(
      `${file}: not an rpms.lock.yaml lockfile: expected a mapping with lockfileVersion and arches`,
    );
  }
  if (document.lockfileVersion === null) {
    throw new LockfileError(`${file}: lockfileVersion is empty (supported: ${SUPPORTED_LOCKFILE_VERSIONS.join(', ')})`);
  }
  if (document.lockfileVersion === undefined) {
    // Some other YAML file (a compose file, a CI workflow): say what it is not, and what it holds.
    const keys = Object.keys(document);
    const shown = keys.length > 5 ? `${keys.slice(0, 5).join(', ')}, ...` : keys.join(', ');
    throw new LockfileError(
      `${file}: not an rpms.lock.yaml (no lockfileVersion)${keys.length === 0 ? '' : `; its top-level keys: ${shown}`}`,
    );
  }
  if (!SUPPORTED_LOCKFILE_VERSIONS.includes(document.lockfileVersion)) {
    throw new LockfileError(
      `${file}: lockfileVersion ${JSON.stringify(document.lockfileVersion)} is not supported (supported: ${SUPPORTED_LOCKFILE_VERSIONS.join(', ')})`,
    );
  }
  const { arches } = document;
  if (!Array.isArray(arches)) throw new LockfileError(`${file}: arches is missing or not a list`);
  const packages: LockedPackage[] = [];
  for (const [archIndex, arch] of arches.entries()) {
    if (!isRecord(arch)) throw new LockfileError(`${file}: arches[${archIndex}] is not a mapping`);
    const modules = arch.module_metadata;
    if (Array.isArray(modules) && modules.length > 0) {
      onNote(
        `${file}: arches[${archIndex}].module_metadata: ${modules.length} entr${modules.length === 1 ? 'y' : 'ies'} not warmed: ` +
          "module metadata is no package; the cache keeps it with its repository's snapshot (asked through the cache)",
      );
    }
    for (const list of ['packages', 'source'] as const) {
      const entries = arch[list];
      if (entries === undefined || entries === null) continue;
      if (!Array.isArray(entries)) throw new LockfileError(`${file}: arches[${archIndex}].${list} is not a list`);
      for (const [index, entry] of entries.entries()) {
        packages.push(parseEntry(entry, `${file}: arches[${archIndex}].${list}[${index}]`));
      }
    }
  }
  return packages;
};

/** The text of a lockfile; a file that cannot be read is a LockfileError naming it. */
export const readLockfileText = async (file: string): Promise<string> => {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new LockfileError(`${file}: cannot read it${code === undefined ? '' : ` (${code})`}`, { cause: error });
  }
};

/**
 * Reads and parses every lockfile, then merges them: a URL listed several
 * times is warmed once; listed with different checksums or sizes, it is an error.
 */
export const readLockfiles = async (
  files: readonly string[],
  onNote: LockfileNote = () => undefined,
): Promise<LockedPackage[]> => {
  const byUrl = new Map<string, LockedPackage>();
  for (const file of files) {
    for (const found of parseLockfile(await readLockfileText(file), file, onNote)) {
      const known = byUrl.get(found.url);
      if (known === undefined) {
        byUrl.set(found.url, found);
        continue;
      }
      if (
        (known.sha256 !== undefined && found.sha256 !== undefined && known.sha256 !== found.sha256) ||
        (known.size !== undefined && found.size !== undefined && known.size !== found.size)
      ) {
        throw new LockfileError(
          `${found.origin}: ${found.url} is also in ${known.origin} with another checksum or size`,
        );
      }
    }
  }
  return [...byUrl.values()];
};
