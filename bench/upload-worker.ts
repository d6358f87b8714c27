/**
 * One transfer in a process of its own, so its peak RSS is its own. Modes:
 * - `uploader`: the uploader bundle (dist/uploader.mjs) as Lambda runs it,
 *   handler and all, caching BENCH_PATH from the origin into S3;
 * - `download`: a plain download of the same file (or of each of BENCH_PATHS,
 *   one after the other), bytes discarded;
 * - `bare-upload`: the same bytes from the origin into S3 with a bare
 *   lib-storage Upload (same part size and queue), nothing checked.
 * With BENCH_PATH a repodata/repomd.xml, the uploader takes its snapshot.
 * Prints one JSON line: outcome, bytes, seconds, CPU seconds (user + system), peak RSS in MiB.
 */

import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

const mode = process.env.BENCH_MODE ?? 'uploader';
const path = process.env.BENCH_PATH ?? '';
/** Files the download and bare-upload modes transfer, one after the other (a snapshot's files). */
const paths = (process.env.BENCH_PATHS ?? path).split(/\s+/).filter((each) => each !== '');
const started = performance.now();

const transfer = async (): Promise<{ outcome: string; bytes?: number }> => {
  if (mode === 'uploader') {
    const { handler } = (await import(process.env.BENCH_UPLOADER_BUNDLE ?? '')) as {
      handler: (event: unknown, context: unknown) => Promise<{ outcome: string; bytes?: number }>;
    };
    return handler(
      { path },
      {
        functionName: 'rpm-cache-uploader',
        awsRequestId: `bench-${process.pid}`,
        getRemainingTimeInMillis: () => 900_000,
      },
    );
  }
  let bytes = 0;
  for (const each of paths) bytes += await transferOne(each);
  return { outcome: mode === 'download' ? 'downloaded' : 'uploaded', bytes };
};

/** Downloads (or bare-uploads) one file; returns its bytes (0 when uploaded). */
const transferOne = async (filePath: string): Promise<number> => {
  const url = `${process.env.ORIGIN_HOST ?? ''}/${filePath}`;
  const response = await fetch(url, { headers: { 'accept-encoding': 'identity' } });
  if (response.body === null) throw new Error(`GET ${url}: no body`);
  const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  if (mode === 'download') {
    let bytes = 0;
    for await (const chunk of body) bytes += (chunk as Buffer).length;
    return bytes;
  }
  // Loaded only in this mode: the uploader's RSS must not carry a second SDK.
  const { S3Client } = await import('@aws-sdk/client-s3');
  const { Upload } = await import('@aws-sdk/lib-storage');
  const upload = new Upload({
    client: new S3Client({ forcePathStyle: true }),
    partSize: 5 * 1024 * 1024,
    queueSize: 4,
    params: { Bucket: process.env.S3_BUCKET_NAME ?? '', Key: `bare/${filePath}`, Body: body },
  });
  await upload.done();
  return 0;
};

const result = await transfer();
process.stdout.write(
  `\n${JSON.stringify({
    outcome: result.outcome,
    bytes: result.bytes,
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
  })}\n`,
);
