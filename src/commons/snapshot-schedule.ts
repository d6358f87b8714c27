/**
 * The repositories checked on a schedule, so their history has no holes
 * (`SNAPSHOT_REPOSITORIES`, `SNAPSHOT_EVERY_MINUTES` for `npm start`; the
 * CDK context `snapshotRepositories`, `snapshotEveryMinutes` deploys an
 * EventBridge schedule). Each check is the uploader invoked with the
 * repository's repomd.xml, as a client's request triggers it. Infra imports
 * this module, which therefore imports nothing.
 */

export const DEFAULT_SNAPSHOT_EVERY_MINUTES = 60;

/** The repository directories in `value` (space- or comma-separated), each as the handler's paths name it. */
export const parseSnapshotRepositories = (value: string, variable: string): readonly string[] => {
  const repositories = value.split(/[\s,]+/).filter((entry) => entry !== '');
  for (const repository of repositories) {
    const problem = repositoryProblem(repository);
    if (problem !== undefined) {
      throw new Error(
        `${variable}: ${JSON.stringify(repository)} ${problem} (expected the directory that holds repodata/, ` +
          'e.g. pub/fedora/linux/updates/44/Everything/x86_64/)',
      );
    }
  }
  return [...new Set(repositories)];
};

const repositoryProblem = (repository: string): string | undefined => {
  if (repository.startsWith('/') || /^[a-z][a-z0-9+.-]*:/i.test(repository)) return 'is not a path under the cache';
  if (!repository.endsWith('/')) return 'does not end in /';
  if (repository.startsWith('@')) return 'is a time-travel path';
  if (/(^|\/)repodata\/$/.test(repository)) return 'names repodata/ itself';
  if (repository.split('/').some((segment) => segment === '.' || segment === '..')) return 'has . or .. in it';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(repository)) return 'has control characters';
  return undefined;
};

/** The repomd.xml a check of `repository` asks the uploader to snapshot. */
export const scheduledCheckPath = (repository: string): string => `${repository}repodata/repomd.xml`;
