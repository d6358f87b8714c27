/**
 * One uploader run in a process of its own, so its peak RSS is its own:
 * caches `BENCH_PATH` from the origin into S3 with the real uploader code and
 * prints one JSON line with the outcome, bytes, seconds and peak RSS.
 */
import { UPLOADER_CLIENT_SETTINGS } from '../src/commons/clients.js';
import { parseCacheConfig } from '../src/commons/config.js';
import { createS3Client } from '../src/commons/s3-client.js';
import { cacheFromOrigin } from '../src/commons/upload.js';

const path = process.env.BENCH_PATH ?? '';
const config = parseCacheConfig(process.env);
const s3 = createS3Client(process.env, UPLOADER_CLIENT_SETTINGS);
const started = performance.now();
const result = await cacheFromOrigin(path, { config, s3 });
process.stdout.write(
  `${JSON.stringify({
    ...result,
    seconds: (performance.now() - started) / 1000,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
  })}\n`,
);
