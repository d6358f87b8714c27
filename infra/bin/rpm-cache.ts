/**
 * The CDK app: `npm run synth` / `npx cdk deploy -c key=value ...` (see the
 * docs/deployment.md). Synthesizes offline: the image is built at deploy.
 */
import { App, Validations } from 'aws-cdk-lib';
import cdkNag from 'cdk-nag';
import { RpmCacheStack } from '../lib/rpm-cache-stack.ts';
import { parseSettings, SettingsError } from '../lib/settings.ts';

// cdk-nag is CommonJS without static named exports.
const { AwsSolutionsChecks } = cdkNag;

const app = new App();
try {
  const settings = parseSettings((key) => app.node.tryGetContext(key));
  new RpmCacheStack(app, app.node.tryGetContext('stackName') ?? 'RpmCache', {
    settings,
    description: 'rpm-cache: keeps Fedora RPMs downloadable after the mirrors drop them',
  });
} catch (error) {
  if (!(error instanceof SettingsError)) throw error;
  process.stderr.write(`rpm-cache: ${error.message}\n`);
  process.exit(2);
}
// A finding of the AWS Solutions rules stops synth; each accepted one is acknowledged in the stack with its reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
