import { createErrorReporter } from '../../src/commons/error-reporting.js';
import { SentryServer } from '../helpers/sentry-server.js';

describe('createErrorReporter', () => {
  let sentry: SentryServer;

  beforeAll(async () => {
    sentry = await SentryServer.start();
  });

  afterAll(async () => {
    await sentry.close();
  });

  beforeEach(() => {
    sentry.envelopes.splice(0);
  });

  it('sends nothing anywhere when no DSN is configured', async () => {
    const report = await createErrorReporter({ sentryDsn: undefined, deploymentEnvironment: 'production' });

    await report(new Error('not reported'));

    expect(sentry.envelopes).toHaveLength(0);
  });

  it('loads Sentry only on the first report, then delivers every error', async () => {
    const report = createErrorReporter({ sentryDsn: sentry.dsn, deploymentEnvironment: 'staging' });
    // Nothing is sent (nor loaded) before an error is reported.
    expect(sentry.envelopes).toHaveLength(0);

    await report(new Error('first'));
    await report(new Error('second'));

    expect(sentry.envelopes).toEqual([
      expect.stringContaining('"value":"first"'),
      expect.stringContaining('"value":"second"'),
    ]);
  });

  it('delivers the error to Sentry, tagged with the deployment environment, before returning', async () => {
    const report = await createErrorReporter({ sentryDsn: sentry.dsn, deploymentEnvironment: 'staging' });

    await report(new Error('S3 was down'), { path: 'pub/a.rpm' });

    expect(sentry.envelopes).toHaveLength(1);
    const envelope = sentry.envelopes[0] ?? '';
    expect(envelope).toContain('S3 was down');
    expect(envelope).toContain('"environment":"staging"');
    expect(envelope).toContain('pub/a.rpm');
  });
});
