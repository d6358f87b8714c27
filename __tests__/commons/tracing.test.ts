import { isTracingWanted, loadTracing, NO_TRACING } from '../../src/commons/tracing.js';

describe('tracing', () => {
  it.each([
    [{}, false],
    [{ AWS_LAMBDA_FUNCTION_NAME: 'rpm-cache-handler' }, true],
    [{ AWS_LAMBDA_FUNCTION_NAME: 'rpm-cache-handler', POWERTOOLS_TRACE_ENABLED: 'false' }, false],
    [{ AWS_LAMBDA_FUNCTION_NAME: 'rpm-cache-handler', POWERTOOLS_TRACE_ENABLED: ' FALSE ' }, false],
    [{ AWS_LAMBDA_FUNCTION_NAME: 'rpm-cache-handler', AWS_SAM_LOCAL: 'true' }, false],
  ])('is wanted in %j: %s', (env, wanted) => {
    expect(isTracingWanted(env)).toBe(wanted);
  });

  it('loads nothing outside Lambda: clients pass through, work runs as is', async () => {
    const tracing = await loadTracing({});
    const client = { send: () => 'sent' };

    expect(tracing).toBe(NO_TRACING);
    expect(tracing.captureClient(client)).toBe(client);
    await expect(tracing.traced('x', async () => 42)).resolves.toBe(42);
  });

  it('loads X-Ray tracing in Lambda: a handler middleware, and work that still runs without a segment', async () => {
    const tracing = await loadTracing({ AWS_LAMBDA_FUNCTION_NAME: 'rpm-cache-handler' });

    expect(tracing).not.toBe(NO_TRACING);
    expect(Object.keys(tracing.middleware).sort()).toEqual(['after', 'before', 'onError']);
    await expect(tracing.traced('### origin HEAD', async () => 'answer')).resolves.toBe('answer');
    await expect(
      tracing.traced('### origin HEAD', async () => {
        throw new Error('origin down');
      }),
    ).rejects.toThrow('origin down');
  });
});
