/**
 * Loads a Lambda's module as Lambda's init would: its environment first,
 * then the import (the module reads its config once, at load). One module
 * instance per test file, as jest keeps a registry per file.
 */
import type { Environment } from '../../src/commons/config.js';

type HandlerModule = typeof import('../../src/handler/handler.js');
type UploaderModule = typeof import('../../src/uploader/uploader.js');

const setEnvironment = (env: Environment): void => {
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
};

export const loadHandler = async (env: Environment): Promise<HandlerModule['handler']> => {
  setEnvironment(env);
  return (await import('../../src/handler/handler.js')).handler;
};

export const loadUploader = async (env: Environment): Promise<UploaderModule['handler']> => {
  setEnvironment(env);
  return (await import('../../src/uploader/uploader.js')).handler;
};

let packageCount = 0;
/** A package path no earlier request used: a container remembers keys between requests, as in Lambda. */
export const uniquePackagePath = (prefix = 'pub/Packages/t'): string => {
  packageCount += 1;
  return `${prefix}/test-c++-1.0^${packageCount}-1.fc44.noarch.rpm`;
};
