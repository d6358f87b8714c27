import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import type { Environment } from '../../src/commons/config.js';
import type { LocalStack } from '../../src/local/stack.js';
import { captureLogs } from './logs.js';
import { OriginServer } from './origin-server.js';

export interface TestStack {
  /** A temporary directory, removed by `close`; the embedded S3 data is in `<work>/data`. */
  readonly work: string;
  readonly origin: OriginServer;
  readonly stack: LocalStack;
  readonly logs: ReturnType<typeof captureLogs>;
  /**
   * Waits until the handler no longer assumes the origin offline (after a test
   * that made it time out): each request while it does starts a probe, whose
   * answer ends the period. Call it once the origin answers again.
   */
  originSeenUp(): Promise<void>;
  close(): Promise<void>;
}

/** A repository no test publishes: asking for it while the origin is assumed offline starts a probe. */
const PROBE_PATH = 'rpm-cache-test-probe/repodata/repomd.xml';

/**
 * The local stack on a free port in front of a fresh mirror on 127.0.0.1,
 * with an embedded S3 store in a temporary directory and its logs captured.
 * One per test file: the stack loads the Lambda code with its environment.
 */
export const startTestStack = async (extraEnv: Environment = {}): Promise<TestStack> => {
  const work = await mkdtemp(join(tmpdir(), 'rpm-cache-stack-'));
  const origin = await OriginServer.start();
  const logs = captureLogs();
  const { startLocalStack } = await import('../../src/local/stack.js');
  const stack = await startLocalStack({
    env: { PORT: '0', ORIGIN_HOST: origin.baseUrl, RPM_CACHE_DATA_DIR: join(work, 'data'), ...extraEnv },
    retryDelaysMs: [50, 100],
  });
  const originSeenUp = async () => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const response = await fetch(`${stack.url}/${PROBE_PATH}`, { redirect: 'manual' });
      await response.arrayBuffer();
      if (response.headers.get('x-cache-origin-status') !== 'assumed-offline') return;
      if (Date.now() > deadline) throw new Error('the handler still assumes the origin offline after 10 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  return {
    work,
    origin,
    stack,
    logs,
    originSeenUp,
    close: async () => {
      // Origin first: an upload stalled on it fails now, and logs before the capture ends.
      await origin.close();
      await stack.close();
      logs.restore();
      await rm(work, { recursive: true, force: true });
    },
  };
};

/** A client of the stack's S3 store, with the credentials the stack gives its Lambdas. */
export const stackS3Client = (stack: LocalStack): S3Client =>
  new S3Client({
    endpoint: stack.s3Endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    requestChecksumCalculation: 'WHEN_REQUIRED',
    ...(stack.s3Credentials === undefined ? {} : { credentials: { ...stack.s3Credentials } }),
  });
