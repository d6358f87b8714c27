/**
 * The local stack's snapshot schedule: its variables, refused with a message
 * naming them, and the checks it sends the uploader (an asynchronous Invoke
 * per repository, as EventBridge sends the deployed one).
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { parseSnapshotRepositories } from '../../src/commons/snapshot-schedule.js';
import { snapshotScheduleFromEnv, startSnapshotSchedule } from '../../src/local/snapshot-schedule.js';

const UPDATES = 'pub/fedora/linux/updates/44/Everything/x86_64/';
const EPEL = 'epel/10/Everything/x86_64/';

describe('snapshotScheduleFromEnv', () => {
  it('is off without SNAPSHOT_REPOSITORIES', () => {
    expect(snapshotScheduleFromEnv({})).toBeUndefined();
    expect(snapshotScheduleFromEnv({ SNAPSHOT_REPOSITORIES: ' ' })).toBeUndefined();
  });

  it('reads repositories (space- or comma-separated, once each) and minutes (default 60)', () => {
    expect(snapshotScheduleFromEnv({ SNAPSHOT_REPOSITORIES: `${UPDATES}, ${EPEL} ${UPDATES}` })).toEqual({
      repositories: [UPDATES, EPEL],
      everyMs: 3_600_000,
    });
    expect(snapshotScheduleFromEnv({ SNAPSHOT_REPOSITORIES: UPDATES, SNAPSHOT_EVERY_MINUTES: '0.5' })).toEqual({
      repositories: [UPDATES],
      everyMs: 30_000,
    });
  });

  it.each([
    [{ SNAPSHOT_EVERY_MINUTES: '5' }, 'SNAPSHOT_EVERY_MINUTES is set but SNAPSHOT_REPOSITORIES is not'],
    [{ SNAPSHOT_REPOSITORIES: UPDATES, SNAPSHOT_EVERY_MINUTES: '0' }, 'SNAPSHOT_EVERY_MINUTES="0" is invalid'],
    [{ SNAPSHOT_REPOSITORIES: UPDATES, SNAPSHOT_EVERY_MINUTES: 'hourly' }, 'SNAPSHOT_EVERY_MINUTES="hourly"'],
    [{ SNAPSHOT_REPOSITORIES: UPDATES, SNAPSHOT_EVERY_MINUTES: '1441' }, 'at most 1440'],
    [{ SNAPSHOT_REPOSITORIES: 'pub/fedora/x86_64' }, 'does not end in /'],
    [{ SNAPSHOT_REPOSITORIES: '/pub/fedora/x86_64/' }, 'is not a path under the cache'],
    [{ SNAPSHOT_REPOSITORIES: 'https://dl.fedoraproject.org/pub/' }, 'is not a path under the cache'],
    [{ SNAPSHOT_REPOSITORIES: `${UPDATES}repodata/` }, 'names repodata/ itself'],
    [{ SNAPSHOT_REPOSITORIES: '@20261101T000000Z/pub/' }, 'is a time-travel path'],
    [{ SNAPSHOT_REPOSITORIES: 'pub/../etc/' }, 'has . or .. in it'],
    [
      { SNAPSHOT_REPOSITORIES: 'pub//fedora/' },
      'cannot be checked: the uploader would reject pub//fedora/repodata/repomd.xml',
    ],
    [{ SNAPSHOT_REPOSITORIES: 'pub\\fedora/' }, 'path contains a backslash'],
  ])('refuses %j, naming the variable', (env, message) => {
    expect(() => snapshotScheduleFromEnv(env)).toThrow(message);
  });

  it('names the variable it was given', () => {
    expect(() => parseSnapshotRepositories('x', 'snapshotRepositories', () => undefined)).toThrow(
      /^snapshotRepositories: "x"/,
    );
  });
});

describe('startSnapshotSchedule', () => {
  it('invokes the uploader asynchronously with each repository’s repomd.xml, at once and then every period', async () => {
    const lambda = new LambdaClient({ region: 'us-east-1' });
    const mock = mockClient(lambda);
    mock.on(InvokeCommand).resolves({ StatusCode: 202 });
    const schedule = startSnapshotSchedule(
      { repositories: [UPDATES, EPEL], everyMs: 50 },
      { lambda, uploaderName: 'rpm-cache-uploader', onError: (error) => expect(error).toBeUndefined() },
    );
    await new Promise((resolve) => setTimeout(resolve, 130));
    schedule.stop();
    const calls = mock.commandCalls(InvokeCommand).length;
    await new Promise((resolve) => setTimeout(resolve, 120));

    const payloads = mock
      .commandCalls(InvokeCommand)
      .map((call) => call.args[0].input)
      .map(({ FunctionName, InvocationType, Payload }) => ({
        FunctionName,
        InvocationType,
        event: JSON.parse(new TextDecoder().decode(Payload as Uint8Array)) as unknown,
      }));
    expect(payloads.slice(0, 4)).toEqual([
      { FunctionName: 'rpm-cache-uploader', InvocationType: 'Event', event: { path: `${UPDATES}repodata/repomd.xml` } },
      { FunctionName: 'rpm-cache-uploader', InvocationType: 'Event', event: { path: `${EPEL}repodata/repomd.xml` } },
      { FunctionName: 'rpm-cache-uploader', InvocationType: 'Event', event: { path: `${UPDATES}repodata/repomd.xml` } },
      { FunctionName: 'rpm-cache-uploader', InvocationType: 'Event', event: { path: `${EPEL}repodata/repomd.xml` } },
    ]);
    // Stopped: no round after.
    expect(mock.commandCalls(InvokeCommand)).toHaveLength(calls);
  });
});
