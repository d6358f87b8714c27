import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { SQSEvent } from 'aws-lambda';
import { DockerfileParser } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { FUNCTION_SIZES } from '../infra/lib/function-sizes.js';
import { LocalSqsService } from '../src/local/sqs-service.js';
import { httpApiEvent } from './helpers/events.js';
import { LAMBDA_BOOTSTRAP, lambdaStartEnvironment } from './helpers/lambda-start.js';
import { OriginServer } from './helpers/origin-server.js';
import { RuntimeApiServer } from './helpers/runtime-api.js';
import { S3RVER_CREDENTIALS, startS3rver } from './helpers/s3rver.js';
import { syntheticRpmFor } from './helpers/synthetic-rpm.js';

const run = promisify(execFile);

/** Runs `script` as an ES module in a fresh Node (the project's Node 24) with `env` added. */
const nodeModule = (script: string, env: Record<string, string>) =>
  run(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', AWS_REGION: 'eu-west-1', HOME: process.env.HOME ?? '/tmp', ...env },
    timeout: 20_000,
  });

const INVOKE = (event: unknown) => `
  const { handler } = await import('./dist/index.mjs');
  const context = { functionName: 'f', awsRequestId: 'r', getRemainingTimeInMillis: () => 30000 };
  const result = await handler(${JSON.stringify(event)}, context);
  process.stdout.write('RESULT ' + JSON.stringify(result) + '\\n');
`;

const resultOf = (stdout: string): unknown => {
  const line = stdout.split('\n').find((candidate) => candidate.startsWith('RESULT '));
  return line === undefined ? undefined : JSON.parse(line.slice('RESULT '.length));
};

describe('container image', () => {
  const text = readFileSync('Dockerfile', 'utf8');
  const dockerfile = DockerfileParser.parse(text);

  it('is a valid Dockerfile with no linter findings', () => {
    expect(validate(text)).toEqual([]);
  });

  it('builds from the lockfile in a build stage and ships only dist/ on the Lambda Node 24 base', () => {
    const froms = dockerfile.getFROMs();
    expect(froms).toHaveLength(2);
    expect(froms[1]?.getRegistry()).toBe('public.ecr.aws');
    expect(froms[1]?.getImageName()).toBe('lambda/nodejs');
    expect(froms[1]?.getImageTag()).toBe('24');

    const [build, runtime] = [0, 1].map((index) => {
      const from = froms[index];
      const next = froms[index + 1];
      return dockerfile
        .getInstructions()
        .filter(
          (instruction) =>
            from !== undefined &&
            instruction.getRange().start.line > from.getRange().start.line &&
            (next === undefined || instruction.getRange().start.line < next.getRange().start.line),
        );
    });
    const buildText = (build ?? []).map((instruction) => instruction.toString()).join('\n');
    expect(buildText).toContain('COPY package.json package-lock.json');
    expect(buildText).toContain('npm ci');
    // The command line is built with the Lambdas but is not part of the image.
    expect(buildText).toContain('rm dist/cli.mjs dist/cli.mjs.map');

    const runtimeCopies = (runtime ?? []).filter((instruction) => instruction.getKeyword() === 'COPY');
    expect(runtimeCopies.map((instruction) => instruction.toString())).toEqual([
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile variable, not a template
      'COPY --from=build /build/dist/ ${LAMBDA_TASK_ROOT}/',
    ]);
    const cmd = dockerfile.getCMDs();
    expect(cmd).toHaveLength(1);
    expect(cmd[0]?.getArgumentsContent()).toBe('["index.handler"]');
  });

  describe('dist/index.mjs, the module CMD ["index.handler"] loads', () => {
    beforeAll(async () => {
      await run(process.execPath, ['esbuild.config.mjs'], { timeout: 60_000 });
    });

    it('loads Sentry only through a dynamic import, off the cold-start path without SENTRY_DSN', () => {
      const { outputs } = JSON.parse(readFileSync('.build/metafile.json', 'utf8')) as {
        outputs: Record<string, { imports: { path: string; kind: string }[]; inputs: Record<string, unknown> }>;
      };
      const staticClosure = (entry: string, seen = new Set<string>()): Set<string> => {
        seen.add(entry);
        for (const imported of outputs[entry]?.imports ?? []) {
          if (imported.kind === 'import-statement' && !seen.has(imported.path)) staticClosure(imported.path, seen);
        }
        return seen;
      };
      const hasSentry = (file: string) =>
        Object.keys(outputs[file]?.inputs ?? {}).some((input) => input.includes('@sentry'));

      for (const entry of ['dist/handler.mjs', 'dist/uploader.mjs', 'dist/index.mjs']) {
        expect([...staticClosure(entry)].filter(hasSentry)).toEqual([]);
      }
      expect(Object.keys(outputs).some(hasSentry)).toBe(true);
    });

    it("loads, at init, only what each Lambda uses: no X-Ray SDK, no Sentry, nor the other one's clients", () => {
      const { outputs } = JSON.parse(readFileSync('.build/metafile.json', 'utf8')) as {
        outputs: Record<string, { imports: { path: string; kind: string }[]; inputs: Record<string, unknown> }>;
      };
      const staticInputs = (entry: string): string[] => {
        const seen = new Set<string>();
        const visit = (file: string) => {
          seen.add(file);
          for (const imported of outputs[file]?.imports ?? []) {
            if (imported.kind === 'import-statement' && !seen.has(imported.path)) visit(imported.path);
          }
        };
        visit(entry);
        return [...seen].flatMap((file) => Object.keys(outputs[file]?.inputs ?? {}));
      };
      const loads = (entry: string, what: string) => staticInputs(entry).some((input) => input.includes(what));

      for (const entry of ['dist/handler.mjs', 'dist/uploader.mjs']) {
        expect({ entry, xray: loads(entry, 'aws-xray-sdk'), sentry: loads(entry, '@sentry') }).toEqual({
          entry,
          xray: false,
          sentry: false,
        });
      }
      expect(loads('dist/handler.mjs', 'lib-storage')).toBe(false);
      expect(loads('dist/handler.mjs', 'rpm-verifier')).toBe(false);
      expect(loads('dist/uploader.mjs', 's3-request-presigner')).toBe(false);
      expect(loads('dist/uploader.mjs', 'client-lambda')).toBe(false);
      // The SQS sender is a bundle of its own (dist/uploader-sqs.mjs), loaded at the first mirrored snapshot.
      expect(loads('dist/uploader.mjs', 'client-sqs')).toBe(false);
      expect(loads('dist/uploader.mjs', 'protocols/json/AwsJson1_0Protocol')).toBe(false);
      expect(outputs['dist/uploader.mjs']?.imports).toContainEqual(
        expect.objectContaining({ path: './uploader-sqs.mjs', kind: 'dynamic-import' }),
      );
      // ...while each does load what it needs.
      expect(loads('dist/handler.mjs', 's3-request-presigner')).toBe(true);
      expect(loads('dist/uploader.mjs', 'lib-storage')).toBe(true);
    });

    it('loads node:http with require(), never as an ES module (its ESM facade loads undici: ~20 ms at init)', () => {
      const { outputs } = JSON.parse(readFileSync('.build/metafile.json', 'utf8')) as {
        outputs: Record<string, { imports: { path: string; kind: string }[] }>;
      };
      const httpImports = Object.entries(outputs).flatMap(([file, { imports }]) =>
        imports.filter(({ path }) => /^(node:)?http$/.test(path)).map(({ kind }) => `${file}: ${kind}`),
      );

      expect(httpImports.length).toBeGreaterThan(0);
      expect(httpImports.filter((entry) => !entry.endsWith('require-call'))).toEqual([]);
    });

    it("sends a mirrored snapshot's uploads from dist/uploader-sqs.mjs, the bundle the uploader loads for them", async () => {
      const received: unknown[] = [];
      const queue = new LocalSqsService({
        functions: {
          uploader: async (event) => {
            for (const record of (event as SQSEvent).Records) received.push(JSON.parse(record.body));
          },
        },
        functionName: 'uploader',
        maxConcurrency: 1,
        region: 'eu-west-1',
      });
      const endpoint = await queue.listen();
      try {
        const { stdout } = await nodeModule(
          `
          const { createSqsSender } = await import('./dist/uploader-sqs.mjs');
          const send = createSqsSender({ connectionTimeoutMs: 1000, requestTimeoutMs: 5000 });
          const answer = await send({
            QueueUrl: ${JSON.stringify(queue.queueUrl)},
            Entries: [{ Id: '0', MessageBody: JSON.stringify({ path: 'pub/a.rpm' }) }],
          });
          process.stdout.write('RESULT ' + JSON.stringify({ failed: answer.Failed ?? [] }) + '\\n');
          `,
          { AWS_ENDPOINT_URL_SQS: endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
        );

        expect(resultOf(stdout)).toEqual({ failed: [] });
        for (let waited = 0; received.length === 0 && waited < 5000; waited += 50) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        expect(received).toEqual([{ path: 'pub/a.rpm' }]);
      } finally {
        await queue.close(1000);
      }
    });

    it('exists beside dist/handler.mjs and dist/uploader.mjs', () => {
      for (const bundle of ['index', 'handler', 'uploader', 'uploader-sqs']) {
        expect(existsSync(`dist/${bundle}.mjs`)).toBe(true);
      }
    });

    it.each(['handler', 'cki_tools.rpm_cache.handler_lambda'])(
      'runs the handler when LAMBDA_HANDLER=%s',
      async (lambdaHandler) => {
        const { stdout } = await nodeModule(
          INVOKE({ version: '2.0', pathParameters: { path: 'pub/COPYING' }, headers: {} }),
          { LAMBDA_HANDLER: lambdaHandler, S3_BUCKET_NAME: 'bucket', UPLOADER_LAMBDA_ARN: 'uploader' },
        );

        expect(resultOf(stdout)).toEqual({
          statusCode: 302,
          headers: {
            Location: 'https://dl.fedoraproject.org/pub/COPYING',
            'X-Cache': 'bypass',
            'Cache-Control': 'no-store',
          },
          body: '',
        });
      },
    );

    it.each(['uploader', 'cki_tools.rpm_cache.uploader_lambda'])(
      'runs the uploader when LAMBDA_HANDLER=%s',
      async (lambdaHandler) => {
        const { stdout } = await nodeModule(INVOKE({ path: 42 }), {
          LAMBDA_HANDLER: lambdaHandler,
          S3_BUCKET_NAME: 'bucket',
        });

        expect(resultOf(stdout)).toEqual({ outcome: 'rejected', reason: 'event.path is missing or not a string' });
      },
    );

    it('fails at init on an unknown LAMBDA_HANDLER, listing the accepted values', async () => {
      await expect(
        nodeModule(INVOKE({}), { LAMBDA_HANDLER: 'index.handler', S3_BUCKET_NAME: 'bucket' }),
      ).rejects.toThrow('LAMBDA_HANDLER="index.handler" is invalid; accepted values: handler, uploader');
    });

    describe('started as Lambda starts it: its bootstrap, the runtime interface client (aws-lambda-ric), CMD ["index.handler"]', () => {
      const BUCKET = 'rpm-cache-image';
      const RIC = resolve('node_modules/aws-lambda-ric/index.mjs');
      let work: string;
      let taskRoot: string;
      let store: Awaited<ReturnType<typeof startS3rver>>;
      let storeEndpoint: string;
      let origin: OriginServer;
      let lambdaInvokes: string[];
      let lambdaService: Server;
      let lambdaEndpoint: string;
      const running: { child: ChildProcess; api: RuntimeApiServer }[] = [];

      beforeAll(async () => {
        work = await mkdtemp(join(tmpdir(), 'rpm-cache-ric-'));
        // What the Dockerfile's last stage does: COPY dist/ into LAMBDA_TASK_ROOT, nothing else.
        taskRoot = join(work, 'var-task');
        await cp('dist', taskRoot, { recursive: true });
        store = await startS3rver(join(work, 's3'), BUCKET);
        storeEndpoint = store.endpoint;
        origin = await OriginServer.start();
        lambdaInvokes = [];
        lambdaService = createServer((request, response) => {
          const chunks: Buffer[] = [];
          request.on('data', (chunk: Buffer) => chunks.push(chunk));
          request.on('end', () => {
            lambdaInvokes.push(Buffer.concat(chunks).toString('utf8'));
            response.writeHead(202).end();
          });
        });
        await new Promise<void>((listening) => lambdaService.listen(0, '127.0.0.1', listening));
        lambdaEndpoint = `http://127.0.0.1:${(lambdaService.address() as AddressInfo).port}`;
      });

      afterAll(async () => {
        for (const { child, api } of running) {
          child.kill('SIGKILL');
          await api.close();
        }
        lambdaService.closeAllConnections();
        await new Promise<void>((closed) => lambdaService.close(() => closed()));
        await origin.close();
        await store.close();
        await rm(work, { recursive: true, force: true });
      });

      /**
       * Starts the real runtime client in the task root as Lambda does: through
       * the bootstrap (heap flags for the function's memory size, the image's
       * exec wrapper) with the image's ENV.
       */
      const startFunction = async (lambdaHandler: string, functionName: string) => {
        const api = await RuntimeApiServer.start();
        const output: string[] = [];
        const memoryMb =
          lambdaHandler === 'uploader' ? FUNCTION_SIZES.uploader.memoryMb : FUNCTION_SIZES.handler.memoryMb;
        const child = spawn(LAMBDA_BOOTSTRAP, [RIC, 'index.handler'], {
          cwd: taskRoot,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: {
            PATH: process.env.PATH ?? '',
            ...lambdaStartEnvironment(memoryMb, taskRoot),
            HOME: work,
            _HANDLER: 'index.handler',
            LAMBDA_TASK_ROOT: taskRoot,
            AWS_LAMBDA_RUNTIME_API: api.address,
            AWS_LAMBDA_FUNCTION_NAME: functionName,
            AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
            AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
            AWS_LAMBDA_LOG_STREAM_NAME: '2026/11/28/[$LATEST]0123456789abcdef',
            // Lambda sets it for on-demand functions; Powertools reports cold starts only then.
            AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
            AWS_REGION: 'eu-west-1',
            AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
            AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
            AWS_ENDPOINT_URL_S3: storeEndpoint,
            AWS_ENDPOINT_URL_LAMBDA: lambdaEndpoint,
            AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
            LAMBDA_HANDLER: lambdaHandler,
            S3_BUCKET_NAME: BUCKET,
            UPLOADER_LAMBDA_ARN: 'rpm-cache-uploader',
            ORIGIN_HOST: origin.baseUrl,
            ORIGIN_HEAD_TIMEOUT: '2',
          },
        });
        child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
        child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
        running.push({ child, api });
        return { api, child, output: () => output.join('') };
      };

      it('serves API Gateway events with the handler (LAMBDA_HANDLER=handler)', async () => {
        const path = 'pub/fedora/Packages/i/image-c++-1.0-1.noarch.rpm';
        origin.files.set(path, Buffer.from('rpm'));
        const fn = await startFunction('handler', 'rpm-cache-handler');

        const bypass = await fn.api.invoke(httpApiEvent('pub/fedora/COPYING'));
        const miss = await fn.api.invoke(httpApiEvent(path));
        const missing = await fn.api.invoke(httpApiEvent(undefined));

        expect(fn.api.initErrors).toEqual([]);
        expect(bypass).toMatchObject({
          kind: 'response',
          body: {
            statusCode: 302,
            headers: { Location: `${origin.baseUrl}/pub/fedora/COPYING`, 'X-Cache': 'bypass' },
          },
        });
        expect(miss).toMatchObject({ kind: 'response', body: { statusCode: 302, headers: { 'X-Cache': 'miss' } } });
        expect(lambdaInvokes.map((payload) => JSON.parse(payload))).toEqual([{ path, triggeredBy: miss.requestId }]);
        expect(missing).toMatchObject({ kind: 'response', body: { statusCode: 400 } });
        // The runtime client's request id reaches the structured log line; a cold start is logged once.
        expect(fn.output()).toContain(`"function_request_id":"${miss.requestId}"`);
        const coldStarts = fn
          .output()
          .split('\n')
          .filter((line) => line.includes('"message":"request"'))
          .map((line) => (JSON.parse(line) as { cold_start?: unknown }).cold_start);
        expect(coldStarts).toEqual([true, false, false]);
      });

      it('streams an RPM into S3 with the uploader (LAMBDA_HANDLER=uploader)', async () => {
        const path = 'pub/fedora/Packages/i/image-upload-1.0-1.noarch.rpm';
        const rpm = syntheticRpmFor(path, { payloadBytes: 50_000 });
        origin.files.set(path, rpm);
        const fn = await startFunction('uploader', 'rpm-cache-uploader');

        const stored = await fn.api.invoke({ path, triggeredBy: 'request-1' });
        const rejected = await fn.api.invoke({ path: 42 });

        expect(fn.api.initErrors).toEqual([]);
        expect(stored).toEqual({
          requestId: expect.any(String),
          kind: 'response',
          body: {
            outcome: 'stored',
            originStatus: 200,
            bytes: rpm.length,
            sourceUrl: `${origin.baseUrl}/${path}`,
            repositoryCheck: { result: 'no-snapshot' },
          },
        });
        expect(rejected.body).toEqual({ outcome: 'rejected', reason: 'event.path is missing or not a string' });
        const s3 = new S3Client({
          endpoint: storeEndpoint,
          forcePathStyle: true,
          region: 'eu-west-1',
          credentials: { ...S3RVER_CREDENTIALS },
        });
        const object = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `cache/${path}` }));
        expect(object.ContentLength).toBe(rpm.length);
        expect(fn.output()).toContain('"triggeredBy":"request-1"');
        // The image's heap settings, as the uploader reports them at init (the bootstrap's for 1024 MB: over 900).
        const heapLimitMb = Number(/"heapLimitMb":(\d+)/.exec(fn.output())?.[1]);
        expect(heapLimitMb).toBeGreaterThan(200);
        expect(heapLimitMb).toBeLessThan(300);
      });

      it("runs with the image's heap settings, not the ones the bootstrap computes from the memory size", async () => {
        // What the bootstrap puts on the command line overrides NODE_OPTIONS unless the exec wrapper drops it.
        const probe = join(work, 'heap-probe.mjs');
        await writeFile(
          probe,
          `import v8 from 'node:v8';
           process.stdout.write(JSON.stringify({
             heapLimitMb: v8.getHeapStatistics().heap_size_limit / 2 ** 20,
             execArgv: process.execArgv,
             argv: process.argv.slice(2),
           }));`,
        );
        const started = async (env: Record<string, string>) => {
          const { stdout } = await run(LAMBDA_BOOTSTRAP, [probe, 'index.handler'], {
            env: { PATH: process.env.PATH ?? '', ...env },
          });
          return JSON.parse(stdout) as { heapLimitMb: number; execArgv: string[]; argv: string[] };
        };
        const image = lambdaStartEnvironment(FUNCTION_SIZES.uploader.memoryMb, taskRoot);
        const { AWS_LAMBDA_EXEC_WRAPPER: wrapper, ...withoutWrapper } = image;

        const asShipped = await started(image);
        const bootstrapAlone = await started(withoutWrapper);

        expect(wrapper).toBe(join(taskRoot, 'lambda-exec-wrapper.sh'));
        expect(image.NODE_OPTIONS).toContain('--max-old-space-size=256');
        // 256 MB of old generation plus a young generation of 3 × 1 MiB semi-spaces.
        expect(asShipped.heapLimitMb).toBeLessThan(300);
        expect(asShipped.execArgv).toEqual(['--expose-gc', '--max-http-header-size', '81920']);
        expect(asShipped.argv).toEqual(['index.handler']);
        // 1024 MB: 922 MB of old generation, 51 MiB semi-spaces.
        expect(bootstrapAlone.heapLimitMb).toBeGreaterThan(900);
        expect(bootstrapAlone.execArgv).toContain('--max-old-space-size=922');
      });

      it('reports a failed start to the Runtime API (init error) instead of serving', async () => {
        const fn = await startFunction('nonsense', 'rpm-cache-broken');
        const exited = new Promise<number | null>((exit) => fn.child.once('exit', exit));

        expect(await exited).not.toBe(0);
        expect(JSON.stringify(fn.api.initErrors)).toContain('LAMBDA_HANDLER=\\"nonsense\\" is invalid');
      });
    });

    it('fails at init naming a missing required variable', async () => {
      await expect(nodeModule(INVOKE({}), { LAMBDA_HANDLER: 'handler', S3_BUCKET_NAME: 'bucket' })).rejects.toThrow(
        'UPLOADER_LAMBDA_ARN is required but not set',
      );
    });
  });
});
