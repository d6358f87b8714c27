/**
 * Where an archive may still hold a file the origin lost: `RESCUE_URLS`,
 * space-separated URL templates tried in order. Placeholders name what the
 * cache knows of the file: `{name} {epoch} {version} {release} {arch}
 * {file}` (from its file name and, for the epoch, its listing),
 * `{source_name}` (the source package's name, from `<rpm:sourcerpm>` or the
 * lockfile) and `{first}`, the name's first letter, lower-cased, for
 * `Packages/<letter>/` trees. Each value goes into the URL encoded as a
 * path segment, so no value can change which server or path is asked.
 */
import { ConfigError } from '../../commons/config.js';

export const RESCUE_PLACEHOLDERS = [
  'name',
  'epoch',
  'version',
  'release',
  'arch',
  'file',
  'source_name',
  'first',
] as const;
export type RescuePlaceholder = (typeof RESCUE_PLACEHOLDERS)[number];

/** What the cache knows of a file to rescue: a value per placeholder (some may be unknown). */
export type RescueFacts = Readonly<Partial<Record<RescuePlaceholder, string>>>;

const PLACEHOLDER = /\{([a-z_]+)\}/g;

const isPlaceholder = (name: string): name is RescuePlaceholder =>
  (RESCUE_PLACEHOLDERS as readonly string[]).includes(name);

/**
 * Parses `RESCUE_URLS`: each template an http(s) URL whose host is fixed (no
 * placeholder before the path), with known placeholders only.
 */
export const parseRescueTemplates = (value: string | undefined): readonly string[] => {
  const templates = (value ?? '').split(/\s+/).filter((entry) => entry !== '');
  for (const template of templates) {
    const refuse = (why: string) => new ConfigError(`RESCUE_URLS entry ${JSON.stringify(template)} is invalid: ${why}`);
    const match = /^(https?):\/\/([^/{}]+)\/(.*)$/.exec(template);
    if (match === null) throw refuse('expected http(s)://host/path with placeholders in the path only');
    for (const [, name = ''] of template.matchAll(PLACEHOLDER)) {
      if (!isPlaceholder(name)) {
        throw refuse(`unknown placeholder {${name}}: expected ${RESCUE_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}`);
      }
    }
    if (/[{}]/.test(template.replace(PLACEHOLDER, ''))) throw refuse('an unmatched { or }');
    if (template.includes('?') || template.includes('#')) throw refuse('a template carries no query or fragment');
  }
  return Object.freeze(templates);
};

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
    const value = isPlaceholder(name) ? facts[name] : undefined;
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
