/**
 * Each Lambda's memory and timeout, from `npm run bench` (figures and the
 * choice: docs/performance.md, "Memory sizes"). Plain numbers, without the CDK,
 * so the benchmark and the image test start each function with the memory size
 * Lambda gives it (its bootstrap sizes the heap from it).
 * - handler: 256 MB. It waits on the network: measured under the CPU share
 *   each size gets (a cgroup quota, 256/1769 of a core), its answers take as
 *   long at 256 MB as at 1024 MB (p50 within a millisecond; p95 about 15 ms
 *   higher), peak RSS is ~115 MB (2.2× headroom), and a million cached
 *   answers cost $0.75 through a Function URL against $0.90 at 512 MB. The
 *   price is a slower cold start (init ~1.7 s against ~0.7 s at 512 MB), paid
 *   once per container. 128 MB leaves no room for the RSS and is throttled
 *   (p50 ~180 ms). API Gateway waits 30 s at most, so 29 s is the most it can use.
 * - uploader: 1024 MB. Peak RSS ~140 MB, flat in file size (5 MiB parts, 4 in
 *   flight); it is CPU-bound (SHA-256/MD5 while streaming), and 1024 MB's
 *   share keeps a 1 GiB RPM well inside the 15 min ceiling.
 */
export const FUNCTION_SIZES = Object.freeze({
  handler: Object.freeze({ memoryMb: 256, timeoutSeconds: 29 }),
  uploader: Object.freeze({ memoryMb: 1024, timeoutSeconds: 15 * 60 }),
});
