/**
 * Which repositories the uploader mirrors (`MIRROR_REPOSITORIES`), and the
 * queue each new snapshot's missing RPMs go to (`MIRROR_QUEUE_URL`).
 */
import { ConfigError, type Environment } from '../../commons/config.js';
import { uploadPathProblem } from '../../commons/paths.js';
import { parseSnapshotRepositories } from '../../commons/snapshot-schedule.js';

export interface MirrorConfig {
  /** Repository directories (each ending in `/`, holding `repodata/`). */
  readonly repositories: readonly string[];
  /** Where the uploads go; set whenever `repositories` is not empty. */
  readonly queueUrl: string | undefined;
}

export const parseMirrorConfig = (env: Environment): MirrorConfig => {
  const value = env.MIRROR_REPOSITORIES?.trim() ?? '';
  let repositories: readonly string[];
  try {
    repositories = value === '' ? [] : parseSnapshotRepositories(value, 'MIRROR_REPOSITORIES', uploadPathProblem);
  } catch (error) {
    throw new ConfigError(error instanceof Error ? error.message : String(error));
  }
  const queueUrl = env.MIRROR_QUEUE_URL?.trim() || undefined;
  if (repositories.length > 0 && queueUrl === undefined) {
    throw new ConfigError('MIRROR_QUEUE_URL is required but not set: MIRROR_REPOSITORIES names repositories to mirror');
  }
  return Object.freeze({ repositories: Object.freeze([...repositories]), queueUrl });
};
