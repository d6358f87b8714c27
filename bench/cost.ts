/**
 * Section 5: what a million requests cost, from the measured durations and
 * the deployed memory sizes, at AWS's published prices.
 */
import type { Row } from './stats.js';

/**
 * Prices in USD, us-east-1, arm64, as published on aws.amazon.com/lambda/pricing,
 * aws.amazon.com/api-gateway/pricing and aws.amazon.com/s3/pricing (S3 Standard),
 * as known in 2025: check the pages for today's figures and your region.
 */
export const PRICES = Object.freeze({
  lambdaPerRequest: 0.2 / 1e6,
  lambdaArmPerGbSecond: 0.0000133334,
  httpApiPerRequest: 1.0 / 1e6,
  s3GetClassPerRequest: 0.0004 / 1000,
  s3PutClassPerRequest: 0.005 / 1000,
});

/** Memory sizes the stack deploys (infra/lib/rpm-cache-stack.ts). */
const HANDLER_GB = 0.5;
const UPLOADER_GB = 1;

const dollars = (value: number) => `$${value.toFixed(2)}`;

export const costRows = (handlerMs: { cached: number; miss: number }, uploadSeconds10MiB: number): Row[] => {
  const handler = (ms: number) =>
    PRICES.lambdaPerRequest +
    PRICES.httpApiPerRequest +
    PRICES.s3GetClassPerRequest +
    (Math.ceil(ms) / 1000) * HANDLER_GB * PRICES.lambdaArmPerGbSecond;
  // HeadObject, claim PUT and DELETE, CreateMultipartUpload, 2 parts, CompleteMultipartUpload.
  const upload =
    PRICES.lambdaPerRequest +
    PRICES.s3GetClassPerRequest +
    6 * PRICES.s3PutClassPerRequest +
    uploadSeconds10MiB * UPLOADER_GB * PRICES.lambdaArmPerGbSecond;
  return [
    {
      section: 'cost',
      figure: 'per million requests for cached files (origin 200, cached): Lambda, HTTP API, S3 HEAD',
      value: dollars(handler(handlerMs.cached) * 1e6),
      goal: 'shown, no goal',
      holds: undefined,
    },
    {
      section: 'cost',
      figure: 'per million misses of 10 MiB RPMs: the request, plus one upload each',
      value: dollars((handler(handlerMs.miss) + upload) * 1e6),
      goal: 'shown, no goal',
      holds: undefined,
    },
  ];
};
