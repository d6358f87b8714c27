/**
 * Each Lambda's memory and timeout, from `npm run bench` (see docs/deployment.md).
 * Plain numbers, without the CDK, so the benchmark and the image test start each
 * function with the memory size Lambda gives it (its bootstrap sizes the heap from it).
 * - handler: ~100 MB resident and a cold import of ~110-120 ms; 512 MB buys
 *   the CPU share that keeps the cold start short (Lambda's CPU grows with
 *   memory). API Gateway waits 30 s at most, so 29 s is the most it can use.
 * - uploader: peak RSS ~140 MB, flat in file size (5 MiB parts, 4 in
 *   flight); 1024 MB leaves room for the SDK and gives the SHA-256/MD5
 *   verification a fuller CPU. A 1 GiB RPM streams in well under the 15 min
 *   ceiling at the tens of MB/s Lambda reaches.
 */
export const FUNCTION_SIZES = Object.freeze({
  handler: Object.freeze({ memoryMb: 256, timeoutSeconds: 29 }),
  uploader: Object.freeze({ memoryMb: 1024, timeoutSeconds: 15 * 60 }),
});
