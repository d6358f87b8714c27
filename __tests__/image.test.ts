import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { DockerfileParser } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';

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

    it('exists beside dist/handler.mjs and dist/uploader.mjs', () => {
      for (const bundle of ['index', 'handler', 'uploader']) {
        expect(existsSync(`dist/${bundle}.mjs`)).toBe(true);
      }
    });

    it.each(['handler', 'cki_tools.rpm_cache.handler_lambda'])(
      'runs the handler when LAMBDA_HANDLER=%s',
      async (lambdaHandler) => {
        const { stdout } = await nodeModule(
          INVOKE({ version: '2.0', pathParameters: { path: 'pub/repodata/repomd.xml' }, headers: {} }),
          { LAMBDA_HANDLER: lambdaHandler, S3_BUCKET_NAME: 'bucket', UPLOADER_LAMBDA_ARN: 'uploader' },
        );

        expect(resultOf(stdout)).toEqual({
          statusCode: 302,
          headers: {
            Location: 'https://dl.fedoraproject.org/pub/repodata/repomd.xml',
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

    it('fails at init naming a missing required variable', async () => {
      await expect(nodeModule(INVOKE({}), { LAMBDA_HANDLER: 'handler', S3_BUCKET_NAME: 'bucket' })).rejects.toThrow(
        'UPLOADER_LAMBDA_ARN is required but not set',
      );
    });
  });
});
