/**
 * `npm start`: runs the local stack until SIGINT/SIGTERM.
 */
import { startLocalStack } from './stack.js';

// Readable log lines in a terminal; set POWERTOOLS_DEV=false for raw JSON.
process.env.POWERTOOLS_DEV ??= 'true';

const stack = await startLocalStack({ env: process.env });
process.stdout.write(
  `rpm-cache listening on ${stack.url}, origin ${stack.originBaseUrl}, store ${stack.storeDescription}, bucket ${stack.bucketName}\n`,
);

let stopping = false;
const stop = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`rpm-cache: ${signal}, finishing in-flight uploads and stopping\n`);
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
