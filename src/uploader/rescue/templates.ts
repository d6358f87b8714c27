/**
 * Where an archive may still hold a file the origin lost: `RESCUE_URLS`,
 * space-separated URL templates tried in order. Placeholders name what the
 * cache knows of the file: `{name} {epoch} {version} {release} {arch}
 * {file}` (from its file name and, for the epoch, its listing),
 * `{source_name} {source_version} {source_release}` (the source package's,
 * from `<rpm:sourcerpm>` or the lockfile's `sourcerpm`: Koji keeps a build
 * under them, and a subpackage may have a version of its own) and `{first}`, the name's first letter, lower-cased, for
 * `Packages/<letter>/` trees. Each value goes into the URL encoded as a
 * path segment, so no value can change which server or path is asked.
 */
import { isRescuePlaceholder, type RescuePlaceholder } from '../../commons/config.js';

/** What the cache knows of a file to rescue: a value per placeholder (some may be unknown). */
export type RescueFacts = Readonly<Partial<Record<RescuePlaceholder, string>>>;

const PLACEHOLDER = /\{([a-z_]+)\}/g;

/** A value as one path segment: `/`, `..` and the like cannot escape it. */
const segment = (value: string): string | undefined =>
  value === '' || value === '.' || value === '..' ? undefined : encodeURIComponent(value);

/**
 * The URL `template` names for `facts`, or undefined when it needs a value
 * the cache does not know (that template is skipped).
 */
export const rescueUrl = (template: string, facts: RescueFacts): string | undefined => {
  let missing = false;
  const url = template.replace(PLACEHOLDER, (_all, name: string) => {
    const value = isRescuePlaceholder(name) ? facts[name] : undefined;
    const encoded = value === undefined ? undefined : segment(value);
    if (encoded === undefined) missing = true;
    return encoded ?? '';
  });
  return missing ? undefined : url;
};

/** The facts a conventional RPM file name gives (`{first}` included); epoch and source name come from a listing. */
export const factsOfFile = (
  file: string,
  identity: { name: string; version: string; release: string; arch: string } | undefined,
): RescueFacts =>
  identity === undefined ? { file } : { file, ...identity, first: identity.name.slice(0, 1).toLowerCase() };

/** The placeholders of `template` that `facts` has no usable value for, as written (`{source_name}`). */
export const missingPlaceholders = (template: string, facts: RescueFacts): string[] =>
  [...template.matchAll(PLACEHOLDER)]
    .filter(([, name = '']) => {
      const value = isRescuePlaceholder(name) ? facts[name] : undefined;
      return value === undefined || segment(value) === undefined;
    })
    .map(([placeholder]) => placeholder);
