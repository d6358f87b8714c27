/**
 * The local stack's snapshot schedule (`SNAPSHOT_REPOSITORIES`,
 * `SNAPSHOT_EVERY_MINUTES`), as the deployed stack's EventBridge rules do
 * it: every period, each repository's repomd.xml goes to the uploader by an
 * asynchronous Invoke. Locally the first round runs at start, so a
 * repository's history starts with the stack.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { ConfigError, type Environment } from '../commons/config.js';
import { uploadPathProblem } from '../commons/paths.js';
import {
  DEFAULT_SNAPSHOT_EVERY_MINUTES,
  parseSnapshotRepositories,
  scheduledCheckPath,
} from '../commons/snapshot-schedule.js';

export interface SnapshotScheduleSettings {
  readonly repositories: readonly string[];
  readonly everyMs: number;
}

/** The schedule in `env`, or undefined when no repository is named. */
export const snapshotScheduleFromEnv = (env: Environment): SnapshotScheduleSettings | undefined => {
  const listed = env.SNAPSHOT_REPOSITORIES?.trim() ?? '';
  const minutesText = env.SNAPSHOT_EVERY_MINUTES?.trim() ?? '';
  if (listed === '') {
    if (minutesText !== '') throw new ConfigError('SNAPSHOT_EVERY_MINUTES is set but SNAPSHOT_REPOSITORIES is not');
    return undefined;
  }
  let repositories: readonly string[];
  try {
    repositories = parseSnapshotRepositories(listed, 'SNAPSHOT_REPOSITORIES', uploadPathProblem);
  } catch (error) {
    throw new ConfigError(error instanceof Error ? error.message : String(error));
  }
  // Fractions are allowed here (a test checks every few seconds); the deployed schedule takes whole minutes.
  const minutes = minutesText === '' ? DEFAULT_SNAPSHOT_EVERY_MINUTES : Number(minutesText);
  if (!/^\d*\.?\d+$/.test(minutesText || '0') || !(minutes > 0) || minutes > 1440) {
    throw new ConfigError(
      `SNAPSHOT_EVERY_MINUTES=${JSON.stringify(minutesText)} is invalid: expected minutes, more than 0, at most 1440`,
    );
  }
  return { repositories, everyMs: Math.round(minutes * 60_000) };
};

export interface SnapshotSchedule {
  stop(): void;
}

/** Starts the checks: one round now, then one every period, until stopped. */
export const startSnapshotSchedule = (
  { repositories, everyMs }: SnapshotScheduleSettings,
  { lambda, uploaderName, onError }: { lambda: LambdaClient; uploaderName: string; onError: (error: unknown) => void },
): SnapshotSchedule => {
  const round = () => {
    for (const repository of repositories) {
      lambda
        .send(
          new InvokeCommand({
            FunctionName: uploaderName,
            InvocationType: 'Event',
            Payload: new TextEncoder().encode(JSON.stringify({ path: scheduledCheckPath(repository) })),
          }),
        )
        .catch(onError);
    }
  };
  round();
  const timer = setInterval(round, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
};
