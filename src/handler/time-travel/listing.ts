/**
 * The list of a repository's snapshots (`GET /@/<repository path>/`), newest
 * first: every snapshot a `/@<time>/` answer may serve, with when it became
 * current, until when, and what it is. Read from the history's key names
 * (a ListObjectsV2 page per 1,000 snapshots), the current manifest, the last
 * check, and the oldest entry (for the snapshot it superseded).
 */

import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { readObjectText } from '../../commons/cache-store.js';
import { encodePathSegment } from '../../commons/paths.js';
import {
  checkKey,
  type HistoryName,
  historyKey,
  historyNameOf,
  historyPrefix,
  parseCheck,
  parseHistoryKey,
  parseSnapshotTime,
  type SnapshotCheck,
  snapshotTimeOf,
} from '../../commons/snapshot-history.js';
import { parseManifest, readCurrentSnapshot, type SnapshotManifest } from '../../commons/snapshot-manifest.js';
import { type HistoryWindow, stillInHistory } from './snapshot-at.js';

/** One snapshot as the listing shows it. */
export interface ListedSnapshot {
  readonly time: string;
  readonly current: boolean;
  readonly until?: string;
  readonly revision?: string;
  readonly repomdSha256: string;
  /** The last check that found it still current (the current snapshot only). */
  readonly checkedAt?: string;
  /** Its baseurl on this cache: `/@<time>/<repository path>`. */
  readonly path: string;
}

const historyNames = async (s3: S3Client, bucket: string, repoDir: string, abortSignal?: AbortSignal) => {
  const prefix = historyPrefix(repoDir);
  const names: HistoryName[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ...(token === undefined ? {} : { ContinuationToken: token }),
      }),
      abortSignal === undefined ? {} : { abortSignal },
    );
    for (const { Key } of page?.Contents ?? []) {
      const name = Key === undefined ? undefined : parseHistoryKey(Key, prefix);
      if (name !== undefined) names.push(name);
    }
    token = page?.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return names;
};

/** The snapshot `manifest` superseded, when its time is known. */
const previousOf = (manifest: SnapshotManifest | undefined): HistoryName | undefined => {
  const previous = manifest?.previous;
  const time = previous?.createdAt === undefined ? undefined : snapshotTimeOf(previous.createdAt);
  return previous === undefined || time === undefined
    ? undefined
    : { time, id: previous.id, ...(previous.revision === undefined ? {} : { revision: previous.revision }) };
};

/**
 * The snapshots of the repository in `repoDir` a `/@<time>/` answer may
 * serve, newest first; empty when it has none.
 */
export const listSnapshots = async (
  s3: S3Client,
  { bucket, repoDir }: { bucket: string; repoDir: string },
  { historyDays, now }: HistoryWindow,
  abortSignal?: AbortSignal,
): Promise<readonly ListedSnapshot[]> => {
  const [names, current, checkText] = await Promise.all([
    historyNames(s3, bucket, repoDir, abortSignal),
    readCurrentSnapshot(s3, bucket, repoDir, abortSignal),
    readObjectText(s3, bucket, checkKey(repoDir), abortSignal),
  ]);
  const chain = [...names];
  const currentName = current === undefined ? undefined : historyNameOf(current.manifest);
  const newest = chain.at(-1);
  // The current snapshot's entry is written when it is settled: until then it is only the manifest.
  if (currentName !== undefined && (newest === undefined || currentName.time > newest.time)) {
    if (newest === undefined) {
      const previous = previousOf(current?.manifest);
      if (previous !== undefined) chain.push(previous);
    }
    chain.push(currentName);
  }
  const oldest = names[0];
  if (oldest !== undefined) {
    const entry = await readObjectText(s3, bucket, historyKey(repoDir, oldest), abortSignal);
    const previous = previousOf(entry === undefined ? undefined : parseManifest(entry));
    if (previous !== undefined && previous.time < oldest.time) chain.unshift(previous);
  }
  const check: SnapshotCheck | undefined = checkText === undefined ? undefined : parseCheck(checkText);
  const inHistory = (until: string | undefined) =>
    stillInHistory(until === undefined ? undefined : (parseSnapshotTime(until)?.getTime() ?? 0), { historyDays, now });
  const listed: ListedSnapshot[] = [];
  for (const [index, name] of chain.entries()) {
    const until = chain[index + 1]?.time;
    if (!inHistory(until)) continue;
    const isCurrent = until === undefined && currentName !== undefined && name.id === currentName.id;
    listed.push({
      time: name.time,
      current: isCurrent,
      ...(until === undefined ? {} : { until }),
      ...(name.revision === undefined ? {} : { revision: name.revision }),
      repomdSha256: name.id,
      ...(isCurrent && check?.id === name.id ? { checkedAt: check.checkedAt } : {}),
      path: `/@${name.time}/${repoDir}`,
    });
  }
  return listed.reverse();
};

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);

/** The listing as JSON, for tools (`rpm-cache snapshots --json`). */
export const listingJson = (repoDir: string, snapshots: readonly ListedSnapshot[]): string =>
  `${JSON.stringify({ repository: repoDir, snapshots }, null, 2)}\n`;

/** The listing as a page a person reads: a table, each time a link to its baseurl. */
export const listingHtml = (repoDir: string, snapshots: readonly ListedSnapshot[]): string => {
  const rows = snapshots.map((snapshot) => {
    const cells = [
      `<a href="${escapeHtml(snapshot.path.split('/').map(encodePathSegment).join('/'))}">${snapshot.time}</a>`,
      snapshot.current
        ? `current${snapshot.checkedAt === undefined ? '' : ` (checked ${snapshot.checkedAt})`}`
        : (snapshot.until ?? ''),
      escapeHtml(snapshot.revision ?? ''),
      `<code>${snapshot.repomdSha256}</code>`,
    ];
    return `<tr>${cells.map((cell) => `<td>${cell}</td>`).join('')}</tr>`;
  });
  const title = `Snapshots of ${escapeHtml(repoDir)}`;
  return [
    '<!DOCTYPE html>',
    `<html><head><meta charset="utf-8"><title>${title}</title></head><body>`,
    `<h1>${title}</h1>`,
    '<p>Each time is a baseurl: the repository as it was from then until the next one (UTC).</p>',
    '<table><thead><tr><th>became current</th><th>until</th><th>revision</th><th>repomd.xml SHA-256</th></tr></thead>',
    `<tbody>${rows.join('')}</tbody></table>`,
    '</body></html>',
    '',
  ].join('\n');
};
