/**
 * The mirror section's measurement, in a process of its own (the local stack
 * sets the Lambdas' environment on its process): a repository of RPMs on a
 * local origin, the local stack with MIRROR_REPOSITORIES and
 * MIRROR_CONCURRENCY, one request for repomd.xml (the snapshot, then the
 * fan-out through the queue), until every upload has ended. Reports by IPC:
 * wall time, the origin's peak of concurrent RPM downloads, GETs per RPM,
 * and how many RPMs the store holds.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as wait } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { primaryXml } from '../__tests__/helpers/primary-xml.js';
import { repository } from '../__tests__/helpers/repository.js';
import { syntheticRpmFor } from '../__tests__/helpers/synthetic-rpm.js';
import { withBareBucketPaths } from '../src/commons/s3-client.js';
import { startLocalStack } from '../src/local/stack.js';

const REPO = 'pub/bench-mirror/44/x86_64/';
const RPMS = Number(process.env.BENCH_MIRROR_RPMS ?? 200);
const BOUND = Number(process.env.BENCH_MIRROR_CONCURRENCY ?? 10);
/** Each RPM is sent in this many pieces, this far apart, so that downloads overlap as they would over a WAN. */
const PIECES = 5;
const PIECE_MS = 20;

export interface MirrorMeasurement {
  readonly rpms: number;
  readonly bound: number;
  readonly wallMs: number;
  readonly peakDownloads: number;
  readonly downloads: number;
  readonly twice: number;
  readonly stored: number;
}

const files = new Map<string, Buffer>();
const rpms = new Map<string, Buffer>();
for (let index = 0; index < RPMS; index += 1) {
  const href = `Packages/p/pkg${index}-1.0-1.fc44.x86_64.rpm`;
  rpms.set(href, syntheticRpmFor(href, { payloadBytes: 50_000 + index * 100 }));
}
for (const [path, bytes] of repository(REPO, { primary: gzipSync(primaryXml(rpms)) })) files.set(path, bytes);
for (const [href, bytes] of rpms) files.set(`${REPO}${href}`, bytes);

const gets = new Map<string, number>();
let downloading = 0;
let peakDownloads = 0;
const origin = createServer((request, response) => {
  const path = decodeURIComponent(new URL(request.url ?? '/', 'http://origin').pathname).slice(1);
  const bytes = files.get(path);
  if (bytes === undefined) {
    response.writeHead(404).end();
    return;
  }
  response.writeHead(200, { 'content-length': bytes.length, 'content-type': 'application/octet-stream' });
  if (request.method === 'HEAD' || !path.endsWith('.rpm')) {
    response.end(request.method === 'HEAD' ? undefined : bytes);
    return;
  }
  gets.set(path, (gets.get(path) ?? 0) + 1);
  downloading += 1;
  peakDownloads = Math.max(peakDownloads, downloading);
  void (async () => {
    const piece = Math.ceil(bytes.length / PIECES);
    for (let at = 0; at < bytes.length; at += piece) {
      response.write(bytes.subarray(at, at + piece));
      await wait(PIECE_MS);
    }
    response.end();
    downloading -= 1;
  })();
});
await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;

const work = await mkdtemp(join(tmpdir(), 'rpm-cache-bench-mirror-'));
const stack = await startLocalStack({
  env: {
    PORT: '0',
    ORIGIN_HOST: originUrl,
    RPM_CACHE_DATA_DIR: join(work, 'data'),
    MIRROR_REPOSITORIES: REPO,
    MIRROR_CONCURRENCY: String(BOUND),
    POWERTOOLS_LOG_LEVEL: 'WARN',
  },
  retryDelaysMs: [100, 200],
});
try {
  const started = performance.now();
  const answer = await fetch(`${stack.url}/${REPO}repodata/repomd.xml`, { redirect: 'manual' });
  await answer.arrayBuffer();
  await stack.drain();
  const wallMs = performance.now() - started;
  const s3 = withBareBucketPaths(
    new S3Client({
      endpoint: stack.s3Endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      ...(stack.s3Credentials === undefined ? {} : { credentials: { ...stack.s3Credentials } }),
    }),
  );
  let stored = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: 'rpm-cache', Prefix: `cache/${REPO}`, ContinuationToken: token }),
    );
    stored += page.KeyCount ?? 0;
    token = page.NextContinuationToken;
  } while (token !== undefined);
  const counts = [...gets.values()];
  const measurement: MirrorMeasurement = {
    rpms: RPMS,
    bound: BOUND,
    wallMs,
    peakDownloads,
    downloads: counts.reduce((sum, count) => sum + count, 0),
    twice: counts.filter((count) => count > 1).length,
    stored,
  };
  process.send?.(measurement);
} finally {
  await stack.close();
  origin.close();
  await rm(work, { recursive: true, force: true });
}
