/**
 * The repositories checked on a schedule, so their history has no holes
 * (`SNAPSHOT_REPOSITORIES`, `SNAPSHOT_EVERY_MINUTES` for `npm start`; the
 * CDK context `snapshotRepositories`, `snapshotEveryMinutes` deploys an
 * EventBridge schedule). Each check is the uploader invoked with the
 * repository's repomd.xml, as a client's request triggers it. Infra imports
 * this module, which therefore imports nothing (Node runs infra's TypeScript
 * as it is, and the Lambdas' `.js` import names would not resolve there).
 */

export const DEFAULT_SNAPSHOT_EVERY_MINUTES = 60;

/** Why the uploader would reject a path (commons/paths' checkPath and cacheKeyProblem), or undefined. */
export type PathProblem = (path: string) => string | undefined;

/**
 * The repository directories in `value` (space- or comma-separated), each as
 * the handler's paths name it; `pathProblem` says why the uploader would
 * reject a repository's check (it logs and drops such an event: the check
 * would fail every time).
 */
export const parseSnapshotRepositories = (
  value: string,
  variable: string,
  pathProblem: PathProblem,
): readonly string[] => {
  const repositories = value.split(/[\s,]+/).filter((entry) => entry !== '');
  for (const repository of repositories) {
    const problem = repositoryProblem(repository, pathProblem);
    if (problem !== undefined) {
      throw new Error(
        `${variable}: ${JSON.stringify(repository)} ${problem} (expected the directory that holds repodata/, ` +
          'e.g. pub/fedora/linux/updates/44/Everything/x86_64/)',
      );
    }
  }
  return [...new Set(repositories)];
};

const repositoryProblem = (repository: string, pathProblem: PathProblem): string | undefined => {
  if (repository.startsWith('/') || /^[a-z][a-z0-9+.-]*:/i.test(repository)) return 'is not a path under the cache';
  if (!repository.endsWith('/')) return 'does not end in /';
  if (repository.startsWith('@')) return 'is a time-travel path';
  if (/(^|\/)repodata\/$/.test(repository)) return 'names repodata/ itself';
  if (repository.split('/').some((segment) => segment === '.' || segment === '..')) return 'has . or .. in it';
  const path = scheduledCheckPath(repository);
  const problem = pathProblem(path);
  return problem === undefined ? undefined : `cannot be checked: the uploader would reject ${path} (${problem})`;
};

/** The repomd.xml a check of `repository` asks the uploader to snapshot. */
export const scheduledCheckPath = (repository: string): string => `${repository}repodata/repomd.xml`;
