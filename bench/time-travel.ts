/**
 * Section: finding a snapshot by time. A repository with 1,000 snapshots in
 * its history (entries as the uploader writes them, each naming ~20 files
 * and the snapshot it superseded) in the local store (s3rver behind the
 * conditional-write proxy), S3 10 ms away (a proxy that delays each request);
 * the real handler bundle answers `/@<time>/…/repodata/repomd.xml` for a time
 * in the current snapshot and for one 500 snapshots back, interleaved.
 * Goal: the deep answer's p50 within 1.1× the current one's (two S3 round
 * trips each, whatever the history's length).
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { localStoreClient } from '../__tests__/helpers/s3rver.js';
import { formatSnapshotTime, writeHistoryEntry } from '../src/commons/snapshot-history.js';
import { manifestKey, type SnapshotFiles, type SnapshotManifest } from '../src/commons/snapshot-manifest.js';
import { forward } from '../src/local/s3-proxy.js';
import { S3RVER_CREDENTIALS } from '../src/local/s3-server.js';
import { startEmbeddedS3 } from '../src/local/stack.js';
import { LATENCY_MS } from './servers.js';
import { percentile, type Row, ratio } from './stats.js';

const SNAPSHOTS = 1000;
const DEEP = 500;
const GOAL = 1.1;
const BUCKET = 'bench-history';
export const TIME_TRAVEL_REPO = 'pub/fedora/linux/updates/44/Everything/x86_64/';
const START = Date.parse('2026-01-01T00:00:00Z');
const HOUR = 3_600_000;

const hex = (index: number, salt: string) => `${salt}${index.toString(16)}`.padStart(64, '0');

/** ~20 files, as Fedora's updates repository lists them (primary, filelists, other, updateinfo, ... in several forms). */
const filesOf = (index: number): SnapshotFiles =>
  Object.fromEntries(
    Array.from({ length: 20 }, (_, file) => {
      const checksum = hex(index * 100 + file, 'f');
      return [
        `repodata/${checksum}-file${file}.xml.zst`,
        { key: `snapshots/blobs/${TIME_TRAVEL_REPO}repodata/sha256-${checksum}`, contentNamed: true },
      ];
    }).concat([
      [
        'repodata/repomd.xml',
        { key: `snapshots/blobs/${TIME_TRAVEL_REPO}repodata/sha256-${hex(index, 'a')}`, contentNamed: false },
      ],
    ]),
  );

const manifestOf = (index: number): SnapshotManifest => {
  const createdAt = (at: number) => `${new Date(START + at * HOUR).toISOString().slice(0, 19)}Z`;
  return {
    id: hex(index, 'a'),
    createdAt: createdAt(index),
    validators: {},
    revision: String(1_767_225_600 + index * 3600),
    files: filesOf(index),
    absent: ['media.1/media'],
    ...(index === 0
      ? {}
      : {
          previous: {
            id: hex(index - 1, 'a'),
            files: filesOf(index - 1),
            createdAt: createdAt(index - 1),
            revision: String(1_767_225_600 + (index - 1) * 3600),
            absent: ['media.1/media'],
          },
        }),
    settled: true,
  };
};

/** A proxy that passes each request to `target` after the configured S3 latency. */
const delayed = async (target: string) => {
  const server = createServer((request, response) => {
    setTimeout(() => void forward(new URL(target), request, response), LATENCY_MS.s3);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
};

const runWorker = (workerPath: string, s3Url: string, cases: Record<string, string>) =>
  new Promise<Record<string, number[]>>((done, fail) => {
    const worker = fork(workerPath, {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: {
        PATH: process.env.PATH ?? '',
        BENCH_HANDLER_BUNDLE: resolve('dist/handler.mjs'),
        BENCH_TIME_TRAVEL_CASES: JSON.stringify(cases),
        AWS_ENDPOINT_URL_S3: s3Url,
        AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
        AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
        ORIGIN_HOST: 'http://127.0.0.1:9',
        S3_BUCKET_NAME: BUCKET,
        UPLOADER_LAMBDA_ARN: 'rpm-cache-uploader',
        SNAPSHOT_HISTORY_DAYS: '0',
        POWERTOOLS_LOG_LEVEL: 'ERROR',
      },
    });
    worker.once('message', (message) => done(message as Record<string, number[]>));
    worker.once('exit', (code) => {
      if (code !== 0) fail(new Error(`time-travel worker exited ${code}`));
    });
  });

export const measureTimeTravel = async (workerPath: string): Promise<Row[]> => {
  const work = await mkdtemp(join(tmpdir(), 'rpm-cache-bench-history-'));
  const store = await startEmbeddedS3(join(work, 'data'), BUCKET);
  const proxy = await delayed(store.endpoint);
  const s3 = localStoreClient(store.endpoint);
  try {
    for (let index = 0; index < SNAPSHOTS; index += 1) {
      await writeHistoryEntry(s3, { bucket: BUCKET, repoDir: TIME_TRAVEL_REPO, manifest: manifestOf(index) });
    }
    const newest = manifestOf(SNAPSHOTS - 1);
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: manifestKey(TIME_TRAVEL_REPO), Body: JSON.stringify(newest) }),
    );
    // Half an hour into a snapshot's hour: the current one, and the one 500 back.
    const timeIn = (index: number) => formatSnapshotTime(new Date(START + index * HOUR + HOUR / 2));
    const timeOf = (index: number) => formatSnapshotTime(new Date(START + index * HOUR));
    const current = `@${timeIn(SNAPSHOTS - 1)}/${TIME_TRAVEL_REPO}repodata/repomd.xml`;
    const deep = `@${timeIn(SNAPSHOTS - 1 - DEEP)}/${TIME_TRAVEL_REPO}repodata/repomd.xml`;
    const times = await runWorker(workerPath, proxy.url, {
      [current]: timeOf(SNAPSHOTS - 1),
      [deep]: timeOf(SNAPSHOTS - 1 - DEEP),
    });
    const p50 = (path: string) => percentile(times[path] ?? [], 50);
    return [
      {
        section: 'time travel',
        figure: `/@<time>/ repomd.xml, a time in the current snapshot (S3 ${LATENCY_MS.s3} ms injected): p50`,
        value: `${p50(current).toFixed(1)} ms`,
        goal: 'reference',
        holds: undefined,
      },
      {
        section: 'time travel',
        figure: `/@<time>/ repomd.xml ${DEEP} snapshots back, ${SNAPSHOTS} in the history: p50 vs the current snapshot's`,
        value: `${ratio(p50(deep), p50(current))} (${p50(deep).toFixed(1)} ms)`,
        goal: `p50 ≤ ${GOAL}×`,
        holds: p50(deep) / p50(current) <= GOAL,
      },
    ];
  } finally {
    s3.destroy();
    proxy.close();
    await store.close();
    await rm(work, { recursive: true, force: true });
  }
};
