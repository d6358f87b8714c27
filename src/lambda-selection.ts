/**
 * Which Lambda the container image runs, from `LAMBDA_HANDLER`.
 */
import { ConfigError } from './commons/config.js';

export type LambdaName = 'handler' | 'uploader';

/** Our names, plus the ones of the deployment config this project replaces. */
const LAMBDA_NAMES: Readonly<Record<string, LambdaName>> = Object.freeze({
  handler: 'handler',
  uploader: 'uploader',
  'cki_tools.rpm_cache.handler_lambda': 'handler',
  'cki_tools.rpm_cache.uploader_lambda': 'uploader',
});

export const selectLambda = (value: string | undefined): LambdaName => {
  const selected = value === undefined ? undefined : LAMBDA_NAMES[value.trim()];
  if (selected === undefined) {
    const accepted = Object.keys(LAMBDA_NAMES).join(', ');
    throw new ConfigError(
      value === undefined || value.trim() === ''
        ? `LAMBDA_HANDLER is required but not set; accepted values: ${accepted}`
        : `LAMBDA_HANDLER=${JSON.stringify(value)} is invalid; accepted values: ${accepted}`,
    );
  }
  return selected;
};
