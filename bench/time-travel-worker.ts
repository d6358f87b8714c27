/**
 * `/@<time>/` answers of the real handler bundle, warm, in a process of its
 * own: each case (a path and the snapshot time it must be answered from)
 * interleaved with the others; sends the timings home.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { httpApiEvent } from '../__tests__/helpers/events.js';
import { shuffled } from './stats.js';

const REQUESTS = 200;
const cases = JSON.parse(process.env.BENCH_TIME_TRAVEL_CASES ?? '{}') as Record<string, string>;
const { handler } = (await import(process.env.BENCH_HANDLER_BUNDLE ?? '')) as {
  handler: (event: unknown, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
};

let count = 0;
const answer = async (path: string, snapshot: string): Promise<number> => {
  count += 1;
  const started = performance.now();
  const response = await handler(httpApiEvent(path), {
    functionName: 'rpm-cache-handler',
    awsRequestId: `bench-${count}`,
    getRemainingTimeInMillis: () => 29_000,
  });
  const elapsed = performance.now() - started;
  const served = response.headers?.['X-Cache-Snapshot'];
  if (response.statusCode !== 302 || served !== snapshot) {
    throw new Error(
      `${path}: expected a 302 from snapshot ${snapshot}, got ${response.statusCode} from ${String(served)}`,
    );
  }
  return elapsed;
};

for (let round = 0; round < 10; round += 1)
  for (const [path, snapshot] of Object.entries(cases)) await answer(path, snapshot);
const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((path) => [path, []]));
for (let round = 0; round < REQUESTS; round += 1) {
  for (const path of shuffled(Object.keys(cases))) times[path]?.push(await answer(path, cases[path] ?? ''));
}
process.send?.(times);
process.exit(0);
