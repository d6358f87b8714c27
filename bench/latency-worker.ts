/**
 * Handler latency, in a process of its own (its log lines go nowhere): the
 * real handler bundle, warm, with the real SDK clients against the latency
 * servers, one request at a time, each decision path interleaved with a bare
 * origin HEAD and the sequential reference design. Sends the timings home.
 *
 * With BENCH_LATENCY_MODE=outage, one container meeting a hanging origin
 * instead: after a warm-up, 20 requests for cached files whose origin hangs,
 * one after the other; sends their total time.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { shuffled } from './stats.js';

const REQUESTS = Number(process.env.BENCH_LATENCY_REQUESTS ?? 200);
const OUTAGE_REQUESTS = 20;
const origin = process.env.ORIGIN_HOST ?? '';
/** CPU milliseconds (user + system) of this process so far. */
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
const initStarted = { wall: performance.now(), cpu: cpuMs() };
const { handler } = (await import(process.env.BENCH_HANDLER_BUNDLE ?? '')) as {
  handler: (event: unknown, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
};
/** The handler's init (the bundle's import: clients, config, Powertools), wall and CPU. */
const init = { wallMs: performance.now() - initStarted.wall, cpuMs: cpuMs() - initStarted.cpu };

let count = 0;
const context = () => ({
  functionName: 'rpm-cache-handler',
  awsRequestId: `bench-${count}`,
  getRemainingTimeInMillis: () => 29_000,
});
/** A fresh file each time: the handler's memo must not hide the work. */
const fresh = (prefix: string) => {
  count += 1;
  return `${prefix}/Packages/p/package-${count}-1.fc44.x86_64.rpm`;
};
const event = (path: string) => ({
  version: '2.0',
  routeKey: 'ANY /{path+}',
  rawPath: `/${path}`,
  rawQueryString: '',
  headers: {},
  requestContext: { http: { method: 'GET', path: `/${path}` }, requestId: `r-${count}` },
  pathParameters: { path },
  isBase64Encoded: false,
});

const s3 = new S3Client({ forcePathStyle: true });
const lambda = new LambdaClient({ maxAttempts: 1 });
const bucket = process.env.S3_BUCKET_NAME ?? '';

const timed = async (work: () => Promise<unknown>): Promise<number> => {
  const started = performance.now();
  await work();
  return performance.now() - started;
};

/**
 * Answers other than the decision path's own: under a small CPU share a HEAD
 * may now and then pass the 100 ms timeout. Counted and reported; a run where
 * more than MAX_UNEXPECTED of them differ is measuring something else, and fails.
 */
let answers = 0;
const unexpected: string[] = [];
const MAX_UNEXPECTED = 0.01;

const expectOutcome = async (path: string, outcome: string) => {
  const response = await handler(event(path), context());
  const answered = response.headers?.['X-Cache'];
  answers += 1;
  if (answered !== outcome) {
    const originStatus = response.headers?.['X-Cache-Origin-Status'];
    unexpected.push(`${path}: expected ${outcome}, got ${String(answered)} (origin: ${String(originStatus)})`);
  }
};

/** The straightforward design: origin HEAD, then S3 HEAD, then Invoke or presign, one after the other. */
const sequential = async (path: string, then: 'invoke' | 'presign' | 'none') => {
  await fetch(`${origin}/${path}`, { method: 'HEAD' });
  await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `cache/${path}` })).catch(() => undefined);
  if (then === 'invoke') {
    await lambda.send(
      new InvokeCommand({ FunctionName: 'u', InvocationType: 'Event', Payload: new TextEncoder().encode('{}') }),
    );
  }
  if (then === 'presign') {
    await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: `cache/${path}` }), { expiresIn: 60 });
  }
};

const cases: Record<string, () => Promise<unknown>> = {
  'bare origin HEAD': () => fetch(`${origin}/${fresh('ok')}`, { method: 'HEAD' }),
  'bare Invoke': () =>
    lambda.send(
      new InvokeCommand({ FunctionName: 'u', InvocationType: 'Event', Payload: new TextEncoder().encode('{}') }),
    ),
  'origin 200, cached': () => expectOutcome(fresh('ok/cached'), 'stored'),
  'origin 200, not cached (upload triggered)': () => expectOutcome(fresh('ok'), 'miss'),
  'origin 404, cached (presigned)': () => expectOutcome(fresh('gone/cached'), 'hit'),
  'origin timeout, cached': () => expectOutcome(fresh('stall/cached'), 'hit'),
  // ORIGINS (see latency.ts): `mirrored` lost the file (404), `hanging` does not answer; both have a mirror that has it.
  'first URL 404, mirror has it (upload triggered)': () => expectOutcome(fresh('mirrored'), 'miss'),
  'first URL timeout, mirror has it (upload triggered)': () => expectOutcome(fresh('hanging'), 'miss'),
  'origin 404, cached, asked again': () => expectOutcome('gone/cached/Packages/l/lost-again-1.0-1.noarch.rpm', 'hit'),
  'not cacheable': () => expectOutcome(`ok/images/boot-${count++}.iso`, 'bypass'),
  'sequential reference: origin 200, cached': () => sequential(fresh('ok/cached'), 'none'),
  'sequential reference: miss': () => sequential(fresh('ok'), 'invoke'),
  'sequential reference: origin 404, cached': () => sequential(fresh('gone/cached'), 'presign'),
};

/** 20 requests for cached files while the origin hangs: the first waits for the timeout, the rest should not. */
const outage = async (): Promise<number> => {
  // Warm up until 10 answers in a row are plain `stored`: a cold first HEAD may time out (100 ms) and
  // make the container assume the origin offline, until its recovery probe gets an answer.
  let stored = 0;
  for (let attempt = 0; stored < 10; attempt += 1) {
    if (attempt === 200) throw new Error('the handler never answered `stored` while warming up');
    const response = await handler(event(fresh('ok/cached')), context());
    stored = response.headers?.['X-Cache'] === 'stored' ? stored + 1 : 0;
    if (stored === 0) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  // And the stored copy's path (S3 HEAD, presign), compiled as the container's earlier hits would have.
  for (let hit = 0; hit < 10; hit += 1) await expectOutcome(fresh('gone/cached'), 'hit');
  return timed(async () => {
    for (let request = 0; request < OUTAGE_REQUESTS; request += 1) await expectOutcome(fresh('stall/cached'), 'hit');
  });
};

if (process.env.BENCH_LATENCY_MODE === 'outage') {
  const total = await outage();
  if (unexpected.length > 0) throw new Error(`with the origin hanging: ${unexpected.slice(0, 3).join('; ')}`);
  process.send?.({ total: [total] });
  process.exit(0);
}

// Warm up: connections open, code compiled (a cold first HEAD may pass the 100 ms timeout: not counted).
for (let round = 0; round < 10; round += 1) for (const work of Object.values(cases)) await work();
answers = 0;
unexpected.length = 0;

const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
for (let round = 0; round < REQUESTS; round += 1) {
  for (const name of shuffled(Object.keys(cases))) {
    const work = cases[name];
    if (work !== undefined) times[name]?.push(await timed(work));
  }
}

/**
 * CPU per request, each case on its own (interleaved, a case would be charged
 * for the garbage and the aborted sockets of the one before): the process's
 * CPU over CPU_REQUESTS requests in a row, divided by their number.
 */
const CPU_REQUESTS = 100;
const cpuPerRequest = async (work: () => Promise<unknown>): Promise<number> => {
  for (let warm = 0; warm < 10; warm += 1) await work();
  const before = cpuMs();
  for (let request = 0; request < CPU_REQUESTS; request += 1) await work();
  return (cpuMs() - before) / CPU_REQUESTS;
};
const cpu: Record<string, number[]> = {};
// A candidate size's run needs no CPU figures: they are the deployed size's run's.
const cpuCases =
  process.env.BENCH_LATENCY_CPU === '0'
    ? []
    : [
        'bare origin HEAD',
        'origin 200, cached',
        'origin 200, not cached (upload triggered)',
        'origin 404, cached (presigned)',
      ];
for (const name of cpuCases) {
  const work = cases[name];
  if (work !== undefined) cpu[`cpu ${name}`] = [await cpuPerRequest(work)];
}
// A candidate memory size's run reports what it met; the deployed size's run must measure its paths.
if (process.env.BENCH_LATENCY_TOLERANT !== '1' && unexpected.length > answers * MAX_UNEXPECTED) {
  throw new Error(
    `${unexpected.length} of ${answers} answers were not the decision path's: ${unexpected.slice(0, 3).join('; ')}`,
  );
}
// CPU per request under `cpu <case>`, the init's under `init wall` / `init cpu`; peak RSS in MB.
process.send?.({
  ...times,
  ...cpu,
  'init wall': [init.wallMs],
  'init cpu': [init.cpuMs],
  'peak rss': [process.resourceUsage().maxRSS / 1024],
  'unexpected answers': [unexpected.length],
  answers: [answers],
});
process.exit(0);
