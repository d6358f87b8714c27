/**
 * Benchmark: the uploader's peak memory must not grow with the file size.
 * Serves synthetic RPMs of growing sizes from a local origin (as a stream, never
 * held in memory), runs the real uploader for each in a fresh process against
 * the embedded S3 server, and compares the peak RSS of the runs.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import S3rver from '@20minutes/s3rver';
import { syntheticRpmPrefix } from '../__tests__/helpers/synthetic-rpm.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const SIZES_MIB = (process.env.BENCH_SIZES_MIB ?? '64 256 512').split(/\s+/).map(Number);
/** Goal: past one full upload queue (4 parts of 5 MiB), more file means no more memory. */
const MAX_RSS_GROWTH_MIB = 48;

const block = randomBytes(MiB);
const payloadChunks = (bytes: number) =>
  function* chunks() {
    for (let sent = 0; sent < bytes; sent += block.length)
      yield block.subarray(0, Math.min(block.length, bytes - sent));
  };

const rpms = new Map(
  SIZES_MIB.map((size) => {
    const chunks = payloadChunks(size * MiB);
    return [
      `bench/bench-${size}MiB-1.0-1.noarch.rpm`,
      { prefix: syntheticRpmPrefix(chunks), chunks, bytes: size * MiB },
    ];
  }),
);

const origin = createServer((request, response) => {
  const rpm = rpms.get(decodeURIComponent(request.url ?? '/').slice(1));
  if (rpm === undefined) {
    response.writeHead(404).end();
    return;
  }
  response.writeHead(200, { 'content-length': String(rpm.prefix.length + rpm.bytes) });
  const parts = [rpm.prefix, ...rpm.chunks()][Symbol.iterator]();
  const pump = () => {
    for (let next = parts.next(); !next.done; next = parts.next()) {
      if (!response.write(next.value)) {
        response.once('drain', pump);
        return;
      }
    }
    response.end();
  };
  pump();
});
await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;

const dataDir = await mkdtemp(join(tmpdir(), 'rpm-cache-bench-'));
const s3rver = new S3rver({
  address: '127.0.0.1',
  port: 0,
  directory: dataDir,
  silent: true,
  configureBuckets: [{ name: 'bench' }],
});
const s3Address = await s3rver.run();

const results: { sizeMiB: number; outcome: string; seconds: number; maxRssMiB: number }[] = [];
for (const [path, rpm] of rpms) {
  const { stdout } = await run(process.execPath, [process.env.BENCH_WORKER ?? ''], {
    env: {
      PATH: process.env.PATH ?? '',
      BENCH_PATH: path,
      ORIGIN_HOST: originUrl,
      S3_BUCKET_NAME: 'bench',
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${s3Address.port}`,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      POWERTOOLS_TRACE_ENABLED: 'false',
    },
    maxBuffer: 1024 * 1024,
  });
  const line = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
    outcome: string;
    seconds: number;
    maxRssMiB: number;
  };
  results.push({ sizeMiB: rpm.bytes / MiB, outcome: line.outcome, seconds: line.seconds, maxRssMiB: line.maxRssMiB });
}

await s3rver.close();
origin.close();
await rm(dataDir, { recursive: true, force: true });

console.log('uploader, one run per process: RPM size, outcome, time, peak RSS');
for (const result of results) {
  console.log(
    `${String(result.sizeMiB).padStart(6)} MiB  ${result.outcome.padEnd(8)} ${result.seconds.toFixed(2).padStart(7)} s  ${result.maxRssMiB.toFixed(0).padStart(5)} MiB RSS`,
  );
}
const rss = results.map((result) => result.maxRssMiB);
const growth = Math.max(...rss) - Math.min(...rss);
const stored = results.every((result) => result.outcome === 'stored');
const ok = stored && growth <= MAX_RSS_GROWTH_MIB;
console.log(
  `peak RSS grows ${growth.toFixed(0)} MiB from ${SIZES_MIB[0]} to ${SIZES_MIB.at(-1)} MiB files (goal: at most ${MAX_RSS_GROWTH_MIB} MiB): ${ok ? 'met' : 'NOT MET'}`,
);
process.exitCode = ok ? 0 : 1;

const { coldStart } = await import('./cold-start.js');
if (!(await coldStart())) process.exitCode = 1;
