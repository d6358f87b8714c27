/**
 * The tests Stryker runs against each mutant (npm run mutate): the unit and
 * chain tests of the modules it mutates. The end-to-end, local-stack,
 * image and property-heavy fault suites stay in npm test only.
 */
import base from './jest.config.js';

export default {
  ...base,
  testMatch: [
    '**/__tests__/commons/{paths,config}.test.ts',
    '**/__tests__/handler/{redirect,handler}.test.ts',
    '**/__tests__/handler/middlewares/*.test.ts',
    '**/__tests__/uploader/*.test.ts',
    '**/__tests__/metrics.test.ts',
  ],
};
