/**
 * How Lambda starts the image's code, for the tests and the benchmark: the
 * `ENV` lines of the Dockerfile's final stage, and the Node.js runtime's
 * bootstrap (scripts/lambda-bootstrap.sh), whose heap flags for the
 * function's memory size come after NODE_OPTIONS and so win over it.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';

/** The stand-in for /var/runtime/bootstrap. */
export const LAMBDA_BOOTSTRAP = resolve('scripts/lambda-bootstrap.sh');

/**
 * The environment the image gives both Lambdas, with `${LAMBDA_TASK_ROOT}`
 * (/var/task in the image) standing for `taskRoot`, where the bundles are.
 */
export const imageEnvironment = (taskRoot = resolve('dist')): Record<string, string> => {
  const dockerfile = DockerfileParser.parse(readFileSync('Dockerfile', 'utf8'));
  const lastFrom = dockerfile.getFROMs().at(-1)?.getRange().start.line ?? 0;
  const env: Record<string, string> = {};
  for (const instruction of dockerfile.getENVs()) {
    if (instruction.getRange().start.line < lastFrom) continue;
    for (const property of instruction.getProperties()) {
      const value = property.getValue();
      if (value !== null) {
        env[property.getName()] = value
          .replace(/^"(.*)"$/, '$1')
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile variable, not a template
          .replaceAll('${LAMBDA_TASK_ROOT}', taskRoot);
      }
    }
  }
  return env;
};

/**
 * What to add to a child process's environment so that, started with
 * `LAMBDA_BOOTSTRAP`, it runs as a function of `memoryMb` runs in the image:
 * the image's ENV, the memory size the bootstrap reads, and this Node.
 */
export const lambdaStartEnvironment = (memoryMb: number, taskRoot?: string): Record<string, string> => ({
  ...imageEnvironment(taskRoot),
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
  LAMBDA_BOOTSTRAP_NODE: process.execPath,
});
