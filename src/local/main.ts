/**
 * `npm start`: runs the local stack until SIGINT/SIGTERM. A start-up problem
 * is one line naming it and the fix, and a non-zero exit, not a stack trace.
 */
import { ConfigError } from '../commons/config.js';
import { startBanner } from './banner.js';
import { localOriginPorts, suggestFreePort } from './free-port.js';
import { LOCAL_STOP_GRACE_MS } from './lambda-service.js';
import { readableOnTerminals } from './log-format.js';
import { LOCAL_DEFAULTS, startLocalStack } from './stack.js';

// One JSON line per entry (Powertools' dev mode would indent each over ~19 lines).
process.env.POWERTOOLS_DEV ??= 'false';
readableOnTerminals(process.env, process.stdout, process.stderr);

/** One line for a start-up failure: what is wrong and what to do. */
const startupProblem = async (error: unknown, env: NodeJS.ProcessEnv): Promise<string> => {
  if (error instanceof ConfigError) {
    return `${error.message}. Fix the variable (see docs/configuration.md) and start again.`;
  }
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code === 'EADDRINUSE') {
    const port = env.PORT?.trim() || LOCAL_DEFAULTS.PORT;
    // PORT+1 is often the very port a local origin uses (the README demo's 8081): suggest one that binds now.
    const host = env.HOST?.trim() || LOCAL_DEFAULTS.HOST;
    const free = await suggestFreePort(host, Number(port), localOriginPorts(env));
    const example = free === undefined ? '' : ` (PORT=${free} npm start)`;
    return `port ${port} is taken: set PORT to a free port${example} or stop what listens there.`;
  }
  if (code === 'EADDRNOTAVAIL')
    return `cannot listen on HOST=${env.HOST ?? ''}: set HOST to an address of this machine.`;
  if (code === 'EACCES') return `not allowed to listen on port ${env.PORT ?? ''}: set PORT above 1023.`;
  return `could not start: ${typeof message === 'string' ? message : String(error)}`;
};

let stack: Awaited<ReturnType<typeof startLocalStack>>;
try {
  stack = await startLocalStack({ env: process.env });
} catch (error) {
  process.stderr.write(`rpm-cache: ${await startupProblem(error, process.env)}\n`);
  process.exit(1);
}
process.stdout.write(`${startBanner(stack).join('\n')}\n`);

let stopping = false;
const stop = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  process.stdout.write(
    `rpm-cache: ${signal}, finishing in-flight uploads (up to ${LOCAL_STOP_GRACE_MS / 1000} s) and stopping\n`,
  );
  stack.close().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`rpm-cache: stopping failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
