/**
 * The synthesized template, checked with aws-cdk-lib/assertions, and the
 * AWS Solutions rules of cdk-nag run over it. Runs offline: no AWS account,
 * no credentials, no Docker.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { App, type CfnResource, aws_s3 as s3, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import cdkNag from 'cdk-nag';
import type { TimeTravelOutcome } from '../../src/handler/time-travel/answer.ts';
import { TIME_TRAVEL_OUTCOMES } from '../lib/dashboard.ts';
import { LOG_QUERIES } from '../lib/log-queries.ts';
import { RpmCacheStack, UPLOADER_ASYNC } from '../lib/rpm-cache-stack.ts';
import { MAX_SNAPSHOT_REPOSITORIES, parseSettings, SETTINGS_HELP } from '../lib/settings.ts';

const { AwsSolutionsChecks } = cdkNag;
const run = promisify(execFile);
const INFRA_DIR = new URL('..', import.meta.url).pathname;

/** The feature flags and settings of infra/cdk.json, as `cdk synth` gives them to the app. */
const CDK_JSON_CONTEXT = (
  JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> }
).context;

const synth = (context: Record<string, string> = {}) => {
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'rpm-cache-cdk-')), context: CDK_JSON_CONTEXT });
  const stack = new RpmCacheStack(app, 'RpmCache', { settings: parseSettings((key) => context[key]) });
  return { app, stack, template: Template.fromStack(stack) };
};

type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown; Sid?: string };

const statementsOf = (template: Template, rolePrefix: string): Statement[] => {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((policy) => (policy.Properties.Roles as { Ref: string }[]).some((role) => role.Ref.startsWith(rolePrefix)))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
};

const actionsOf = (statement: Statement) => (Array.isArray(statement.Action) ? statement.Action : [statement.Action]);

/** `<bucket ARN>/<suffix>` as CloudFormation writes it. */
const objectsUnder = (suffix: string) => ({
  'Fn::Join': ['', [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^CacheBucket'), 'Arn'] }, `/${suffix}`]],
});

const defaults = synth();

/** Two rescue templates, as an operator would give them. */
const RESCUE =
  'https://archive.example.org/{first}/{name}/{file} https://kojipkgs.example/packages/{source_name}/{file}';

describe('the cache bucket', () => {
  it('is private, encrypted, TLS-only and kept when the stack goes', () => {
    defaults.template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
      }),
    });
    defaults.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('aborts incomplete multipart uploads after a day, expires claims, refusal records and superseded snapshots, keeps cached files by default', () => {
    const [bucket] = Object.values(defaults.template.findResources('AWS::S3::Bucket'));
    assert.deepEqual(bucket?.Properties.LifecycleConfiguration.Rules, [
      { Id: 'abort-incomplete-uploads', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' },
      { Id: 'expire-claims', Prefix: 'claims/', ExpirationInDays: 1, Status: 'Enabled' },
      // UPLOAD_REFUSAL_TTL's default day, and a day more.
      { Id: 'expire-refusal-records', Prefix: 'refusals/', ExpirationInDays: 2, Status: 'Enabled' },
      {
        Id: 'expire-superseded-snapshots',
        Prefix: 'snapshots/',
        TagFilters: [{ Key: 'rpm-cache-snapshot', Value: 'unreferenced' }],
        ExpirationInDays: 30,
        Status: 'Enabled',
      },
      {
        Id: 'expire-snapshot-history',
        Prefix: 'snapshots/',
        TagFilters: [{ Key: 'rpm-cache-snapshot', Value: 'history' }],
        ExpirationInDays: 90,
        Status: 'Enabled',
      },
    ]);
  });

  it('keeps the snapshot history SNAPSHOT_HISTORY_DAYS, at least snapshotExpirationDays, and for ever with 0', () => {
    const historyRule = (context: Record<string, string>) => {
      const [bucket] = Object.values(synth(context).template.findResources('AWS::S3::Bucket'));
      const rules = bucket?.Properties.LifecycleConfiguration.Rules as { Id: string; ExpirationInDays?: number }[];
      return rules.find((rule) => rule.Id === 'expire-snapshot-history')?.ExpirationInDays;
    };
    assert.equal(historyRule({ snapshotHistoryDays: '365' }), 365);
    assert.equal(historyRule({ snapshotHistoryDays: '7', snapshotExpirationDays: '30' }), 30);
    assert.equal(historyRule({ snapshotHistoryDays: '0' }), undefined);
  });

  it('expires superseded snapshots after snapshotExpirationDays; the current one, tagged current, never', () => {
    synth({ snapshotExpirationDays: '7' }).template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ Id: 'expire-superseded-snapshots', ExpirationInDays: 7 })]),
      },
    });
  });

  it('expires cached files when cacheExpirationDays is set', () => {
    synth({ cacheExpirationDays: '400' }).template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([{ Id: 'expire-cache', Prefix: 'cache/', ExpirationInDays: 400, Status: 'Enabled' }]),
      },
    });
  });
});

describe('the two functions', () => {
  const functions = defaults.template.findResources('AWS::Lambda::Function');
  const byHandler = (name: string) =>
    Object.entries(functions).find(([, fn]) => fn.Properties.Environment.Variables.LAMBDA_HANDLER === name);

  it('run one image, arm64 by default, with tracing on and their sizes', () => {
    const handler = byHandler('handler')?.[1];
    const uploader = byHandler('uploader')?.[1];
    assert.ok(handler && uploader);
    assert.deepEqual(handler.Properties.Code, uploader.Properties.Code);
    assert.equal(handler.Properties.PackageType, 'Image');
    for (const fn of [handler, uploader]) {
      assert.deepEqual(fn.Properties.Architectures, ['arm64']);
      assert.deepEqual(fn.Properties.TracingConfig, { Mode: 'Active' });
    }
    assert.equal(handler.Properties.MemorySize, 256);
    assert.equal(handler.Properties.Timeout, 29);
    assert.equal(uploader.Properties.MemorySize, 1024);
    assert.equal(uploader.Properties.Timeout, 900);
    assert.equal(uploader.Properties.ReservedConcurrentExecutions, 10);
    assert.equal(handler.Properties.ReservedConcurrentExecutions, undefined);
    const assets = JSON.parse(readFileSync(join(defaults.app.outdir, 'RpmCache.assets.json'), 'utf8'));
    const images = Object.values(assets.dockerImages) as { source: { platform: string } }[];
    assert.equal(images.length, 1);
    assert.equal(images[0]?.source.platform, 'linux/arm64');
  });

  it('take the architecture and the uploader concurrency from the context', () => {
    const { template, app } = synth({ architecture: 'x86_64', uploaderReservedConcurrency: 'none' });
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      assert.deepEqual(fn.Properties.Architectures, ['x86_64']);
      assert.equal(fn.Properties.ReservedConcurrentExecutions, undefined);
    }
    const assets = JSON.parse(readFileSync(join(app.outdir, 'RpmCache.assets.json'), 'utf8'));
    assert.equal(
      (Object.values(assets.dockerImages)[0] as { source: { platform: string } }).source.platform,
      'linux/amd64',
    );
  });

  it('get the configuration as the environment variables the code reads', () => {
    const { template } = synth({
      originHost: 'mirror.example.org',
      origins: 'epel=https://dl.fedoraproject.org/pub/epel,https://mirror.example.edu/epel',
      cacheExtensions: '.rpm .drpm',
      presignedUrlExpiration: '600',
      originHeadTimeout: '2.5',
      originOfflinePeriod: '120',
      originLostTtl: '0',
      deploymentEnvironment: 'production',
    });
    const fns = Object.values(template.findResources('AWS::Lambda::Function'));
    for (const fn of fns) {
      assert.deepEqual(
        Object.fromEntries(
          [
            'ORIGIN_HOST',
            'ORIGINS',
            'CACHE_EXTENSIONS',
            'PRESIGNED_URL_EXPIRATION',
            'ORIGIN_HEAD_TIMEOUT',
            'ORIGIN_OFFLINE_PERIOD',
            'ORIGIN_LOST_TTL',
            'CKI_DEPLOYMENT_ENVIRONMENT',
          ].map((name) => [name, fn.Properties.Environment.Variables[name]]),
        ),
        {
          ORIGIN_HOST: 'mirror.example.org',
          ORIGINS: 'epel=https://dl.fedoraproject.org/pub/epel,https://mirror.example.edu/epel',
          CACHE_EXTENSIONS: '.rpm .drpm',
          PRESIGNED_URL_EXPIRATION: '600',
          ORIGIN_HEAD_TIMEOUT: '2.5',
          ORIGIN_OFFLINE_PERIOD: '120',
          ORIGIN_LOST_TTL: '0',
          CKI_DEPLOYMENT_ENVIRONMENT: 'production',
        },
      );
      assert.match(JSON.stringify(fn.Properties.Environment.Variables.S3_BUCKET_NAME), /CacheBucket/);
      assert.equal(fn.Properties.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE, 'RpmCache');
    }
    const handler = fns.find((fn) => fn.Properties.Environment.Variables.LAMBDA_HANDLER === 'handler');
    assert.match(JSON.stringify(handler?.Properties.Environment.Variables.UPLOADER_LAMBDA_ARN), /Uploader.*Arn/);
  });

  it('read SENTRY_DSN from a Secrets Manager secret or an SSM parameter, resolved at deploy', () => {
    const fromSecret = synth({ sentryDsnSecret: 'rpm-cache/sentry-dsn' }).template;
    for (const fn of Object.values(fromSecret.findResources('AWS::Lambda::Function'))) {
      assert.equal(
        fn.Properties.Environment.Variables.SENTRY_DSN,
        '{{resolve:secretsmanager:rpm-cache/sentry-dsn:SecretString:::}}',
      );
    }
    const fromParameter = synth({ sentryDsnParameter: '/rpm-cache/sentry-dsn' }).template;
    for (const fn of Object.values(fromParameter.findResources('AWS::Lambda::Function'))) {
      assert.ok('Ref' in fn.Properties.Environment.Variables.SENTRY_DSN);
    }
    for (const fn of Object.values(defaults.template.findResources('AWS::Lambda::Function'))) {
      assert.equal(fn.Properties.Environment.Variables.SENTRY_DSN, undefined);
    }
  });

  it("leave the image's memory settings (its ENV) to the image: no NODE_OPTIONS or MALLOC_* override", () => {
    for (const fn of Object.values(defaults.template.findResources('AWS::Lambda::Function'))) {
      const names = Object.keys(fn.Properties.Environment.Variables);
      assert.deepEqual(
        names.filter((name) => name === 'NODE_OPTIONS' || name.startsWith('MALLOC_')),
        [],
      );
    }
  });

  it('retry a failed upload twice, keep events up to 6 h, then send them to a queue', () => {
    defaults.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 21600,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FailedUploads'), 'Arn'] } },
      },
    });
  });

  it('log to their own groups with the retention asked for', () => {
    const groups = Object.values(synth({ logRetentionDays: '90' }).template.findResources('AWS::Logs::LogGroup'));
    assert.equal(groups.length, 3);
    for (const group of groups) assert.equal(group.Properties.RetentionInDays, 90);
    for (const fn of Object.values(defaults.template.findResources('AWS::Lambda::Function'))) {
      assert.ok(fn.Properties.LoggingConfig.LogGroup.Ref.match(/^(Handler|Uploader)Logs/));
    }
  });
});

describe('the HTTP API', () => {
  it('sends ANY /{path+} and ANY / to the handler, with payload 2.0 and access logs', () => {
    const routes = Object.values(defaults.template.findResources('AWS::ApiGatewayV2::Route')).map(
      (route) => route.Properties.RouteKey,
    );
    assert.deepEqual(routes.sort(), ['ANY /', 'ANY /{path+}']);
    defaults.template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Handler'), 'Arn'] },
    });
    defaults.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
    });
  });

  it('throttles the stage: 200 requests per second, bursts of 400, unless told otherwise', () => {
    defaults.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400 },
    });
    synth({ apiThrottleRate: '50', apiThrottleBurst: '100' }).template.hasResourceProperties(
      'AWS::ApiGatewayV2::Stage',
      {
        DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      },
    );
  });

  it('outputs the API URL and the bucket name', () => {
    const outputs = defaults.template.toJSON().Outputs;
    assert.ok(outputs.ApiUrl);
    assert.ok(outputs.BucketName);
  });

  it('is the default front door: no Function URL, and no reserved concurrency on the handler', () => {
    defaults.template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    defaults.template.resourceCountIs('AWS::Lambda::Url', 0);
    const apiId = defaults.stack.getLogicalId(defaults.stack.api?.node.defaultChild as CfnResource);
    assert.deepEqual(defaults.template.toJSON().Outputs.ApiUrl.Value, { 'Fn::GetAtt': [apiId, 'ApiEndpoint'] });
    assert.equal(defaults.stack.functionUrl, undefined);
  });

  it('reserves the handler concurrency when handlerReservedConcurrency is given, the stage throttle kept', () => {
    const { template } = synth({ handlerReservedConcurrency: '50' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: 50,
      Environment: { Variables: Match.objectLike({ LAMBDA_HANDLER: 'handler' }) },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400 },
    });
    template.resourceCountIs('AWS::Lambda::Url', 0);
  });
});

describe('the Function URL front door (frontDoor=function-url)', () => {
  const functionUrl = synth({ frontDoor: 'function-url' });
  const handlerId = (template: Template) =>
    Object.entries(template.findResources('AWS::Lambda::Function')).find(
      ([, fn]) => fn.Properties.Environment.Variables.LAMBDA_HANDLER === 'handler',
    )?.[0];

  it('is one public URL (AuthType NONE) on the handler', () => {
    const urls = Object.values(functionUrl.template.findResources('AWS::Lambda::Url'));
    assert.equal(urls.length, 1);
    assert.deepEqual(urls[0]?.Properties, {
      AuthType: 'NONE',
      TargetFunctionArn: { 'Fn::GetAtt': [handlerId(functionUrl.template), 'Arn'] },
    });
  });

  it('lets anyone invoke the handler through its URL, and only through it', () => {
    const permissions = Object.values(functionUrl.template.findResources('AWS::Lambda::Permission'))
      .map((permission) => permission.Properties)
      .sort((a, b) => a.Action.localeCompare(b.Action));
    const handler = { 'Fn::GetAtt': [handlerId(functionUrl.template), 'Arn'] };
    // Both are needed for a public URL: AWS checks lambda:InvokeFunction too for URLs created since October 2025.
    assert.deepEqual(permissions, [
      { Action: 'lambda:InvokeFunction', FunctionName: handler, InvokedViaFunctionUrl: true, Principal: '*' },
      { Action: 'lambda:InvokeFunctionUrl', FunctionName: handler, FunctionUrlAuthType: 'NONE', Principal: '*' },
    ]);
  });

  it('builds no API Gateway at all, nor its access log group', () => {
    const types = Object.values(functionUrl.template.toJSON().Resources as Record<string, { Type: string }>).map(
      (resource) => resource.Type,
    );
    assert.deepEqual(
      types.filter((type) => type.startsWith('AWS::ApiGateway')),
      [],
    );
    assert.equal(Object.keys(functionUrl.template.findResources('AWS::Logs::LogGroup')).length, 2);
  });

  it('reserves 100 executions for the handler (its only throttle), the uploader keeping its own 10', () => {
    const functions = Object.values(functionUrl.template.findResources('AWS::Lambda::Function'));
    const reserved = Object.fromEntries(
      functions.map((fn) => [
        fn.Properties.Environment.Variables.LAMBDA_HANDLER,
        fn.Properties.ReservedConcurrentExecutions,
      ]),
    );
    assert.deepEqual(reserved, { handler: 100, uploader: 10 });
    synth({ frontDoor: 'function-url', handlerReservedConcurrency: '250' }).template.hasResourceProperties(
      'AWS::Lambda::Function',
      {
        ReservedConcurrentExecutions: 250,
        Environment: { Variables: Match.objectLike({ LAMBDA_HANDLER: 'handler' }) },
      },
    );
  });

  it('outputs its URL as ApiUrl, https:// and the host without the trailing slash', () => {
    const { ApiUrl } = functionUrl.template.toJSON().Outputs;
    const urlId = functionUrl.stack.getLogicalId(functionUrl.stack.functionUrl?.node.defaultChild as CfnResource);
    assert.deepEqual(ApiUrl.Value, {
      'Fn::Join': [
        '',
        ['https://', { 'Fn::Select': [2, { 'Fn::Split': ['/', { 'Fn::GetAtt': [urlId, 'FunctionUrl'] }] }] }],
      ],
    });
    assert.equal(functionUrl.stack.api, undefined);
  });
});

/**
 * Asserts that `statements` are exactly `expected`, in order, each key matched exactly (matchers
 * allowed); the actions of a statement in any order (the CDK sorts them under the recommended flags).
 */
const assertStatements = (statements: Statement[], expected: object[]) => {
  const sortedActions = (statement: object) =>
    'Action' in statement && Array.isArray(statement.Action)
      ? { ...statement, Action: [...statement.Action].sort() }
      : statement;
  Template.fromJSON({
    Resources: { Policy: { Type: 'Check', Properties: { Statement: statements.map(sortedActions) } } },
  }).hasResourceProperties('Check', { Statement: Match.exact(expected.map(sortedActions)) });
};

const bucketArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^CacheBucket'), 'Arn'] };
const XRAY = { Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Effect: 'Allow', Resource: '*' };
const logsOf = (prefix: string) => ({
  Sid: 'Logs',
  Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
  Effect: 'Allow',
  Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${prefix}`), 'Arn'] },
});

describe('least privilege', () => {
  it('lets the handler read cache/*, snapshots/* and refusals/*, list only under them, invoke only the uploader, write its logs', () => {
    assertStatements(statementsOf(defaults.template, 'HandlerRole'), [
      logsOf('HandlerLogs'),
      XRAY,
      {
        Sid: 'CacheRead',
        Action: 's3:GetObject',
        Effect: 'Allow',
        Resource: [objectsUnder('cache/*'), objectsUnder('refusals/*'), objectsUnder('snapshots/*')],
      },
      {
        Sid: 'ListCacheAndSnapshots',
        Action: 's3:ListBucket',
        Effect: 'Allow',
        Resource: bucketArn,
        Condition: { StringLike: { 's3:prefix': ['cache/*', 'snapshots/*', 'refusals/*'] } },
      },
      {
        Sid: 'TriggerUpload',
        Action: 'lambda:InvokeFunction',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Uploader'), 'Arn'] },
      },
    ]);
  });

  it('lets the uploader get/put/abort on cache/*, also tag on snapshots/*, get/put/delete on claims/*, put on refusals/*, list those prefixes, send failures to its queue', () => {
    assertStatements(statementsOf(defaults.template, 'UploaderRole'), [
      logsOf('UploaderLogs'),
      XRAY,
      {
        Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FailedUploads'), 'Arn'] },
      },
      {
        Sid: 'CacheWrite',
        Action: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
        Effect: 'Allow',
        Resource: objectsUnder('cache/*'),
      },
      {
        Sid: 'SnapshotWrite',
        Action: ['s3:GetObject', 's3:PutObject', 's3:PutObjectTagging', 's3:AbortMultipartUpload'],
        Effect: 'Allow',
        Resource: objectsUnder('snapshots/*'),
      },
      {
        Sid: 'Claims',
        Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        Effect: 'Allow',
        Resource: objectsUnder('claims/*'),
      },
      { Sid: 'RefusalRecords', Action: 's3:PutObject', Effect: 'Allow', Resource: objectsUnder('refusals/*') },
      {
        Sid: 'ListCacheSnapshotsAndClaims',
        Action: 's3:ListBucket',
        Effect: 'Allow',
        Resource: bucketArn,
        Condition: { StringLike: { 's3:prefix': ['cache/*', 'snapshots/*', 'claims/*'] } },
      },
    ]);
  });

  it('has no roles but the two, and no managed policies', () => {
    const roles = Object.entries(defaults.template.findResources('AWS::IAM::Role'));
    assert.deepEqual(roles.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort(), ['HandlerRole', 'UploaderRole']);
    for (const [, role] of roles) assert.equal(role.Properties.ManagedPolicyArns, undefined);
  });

  it('grants no action * or service:*, and resource * only to the actions AWS accepts only on *', () => {
    const ONLY_ON_ANY = new Set(['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'ecr:GetAuthorizationToken']);
    const policies = Object.values(defaults.template.findResources('AWS::IAM::Policy'));
    assert.ok(policies.length > 0);
    for (const policy of policies) {
      for (const statement of policy.Properties.PolicyDocument.Statement as Statement[]) {
        for (const action of actionsOf(statement)) {
          assert.doesNotMatch(action, /(^\*$|:\*$)/, `action ${action}`);
          if (statement.Resource === '*') assert.ok(ONLY_ON_ANY.has(action), `${action} on *`);
        }
      }
    }
  });
});

describe('operations', () => {
  it('saves every documented Logs Insights query on the right log groups', () => {
    const saved = Object.values(defaults.template.findResources('AWS::Logs::QueryDefinition'));
    assert.deepEqual(
      saved.map((query) => query.Properties.QueryString),
      LOG_QUERIES.map((query) => query.query),
    );
    for (const [index, query] of LOG_QUERIES.entries()) {
      const groups = JSON.stringify(saved[index]?.Properties.LogGroupNames);
      assert.equal(groups.includes('HandlerLogs'), query.logGroups !== 'upload', query.name);
      assert.equal(groups.includes('UploaderLogs'), query.logGroups !== 'request', query.name);
    }
  });

  it('alarms on fallbacks, corrupt uploads, failed uploads and an origin assumed offline, notifying the topic given', () => {
    const topic = 'arn:aws:sns:eu-west-1:123456789012:rpm-cache-alarms';
    const { template } = synth({ alarmTopicArn: topic, fallbackAlarmThreshold: '3' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'RpmCache',
      MetricName: 'Requests',
      Dimensions: Match.arrayWith([{ Name: 'Outcome', Value: 'fallback' }]),
      Threshold: 3,
      AlarmActions: [topic],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Uploads',
      Dimensions: Match.arrayWith([{ Name: 'Outcome', Value: 'corrupt' }]),
      Threshold: 1,
      AlarmActions: [topic],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      AlarmActions: [topic],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'OriginAssumedOffline',
      Period: 60,
      EvaluationPeriods: 15,
      DatapointsToAlarm: 15,
      Threshold: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topic],
    });
    assert.equal(Object.keys(defaults.template.findResources('AWS::CloudWatch::Alarm')).length, 4);
  });

  it('raises the offline alarm after originOfflineAlarmMinutes minutes in a row', () => {
    synth({ originOfflineAlarmMinutes: '5' }).template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'OriginAssumedOffline',
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
    });
  });

  it('has a dashboard with hit ratio, misses, fallbacks, uploads, bytes and origin latency p50/p99', () => {
    const [dashboard] = Object.values(defaults.template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    for (const needle of [
      'hit ratio',
      'Misses',
      'Fallbacks by cause',
      'Uploads by outcome',
      'BytesStored',
      'OriginHeadLatency',
      'StaleAnswers',
      'OriginAssumedOffline',
      'Repository snapshots by outcome',
      'Time travel answers by outcome',
      '\\"stat\\":\\"p50\\"',
      '\\"stat\\":\\"p99\\"',
    ]) {
      assert.ok(body.includes(needle), needle);
    }
  });
});

describe('the time-travel widget', () => {
  it('graphs TimeTravelAnswers for every outcome the handler counts', () => {
    // Every TimeTravelOutcome, plus the fallback's 503: a new outcome fails the type check until it is listed here.
    const counted: Record<TimeTravelOutcome | 'unavailable', true> = {
      served: true,
      'not-in-snapshot': true,
      'before-history': true,
      future: true,
      malformed: true,
      'no-history': true,
      listed: true,
      'passed-through': true,
      unavailable: true,
    };
    assert.deepEqual([...TIME_TRAVEL_OUTCOMES].sort(), Object.keys(counted).sort());
    const [dashboard] = Object.values(defaults.template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard?.Properties.DashboardBody).replaceAll('\\"', '"');
    for (const outcome of TIME_TRAVEL_OUTCOMES) {
      assert.ok(body.includes(`"TimeTravelAnswers","Outcome","${outcome}","service","rpm-cache"`), outcome);
    }
  });
});

describe('cdk-nag AwsSolutions', () => {
  const checked = (
    decorate?: (app: App, stack: RpmCacheStack) => void,
    context: Readonly<Record<string, string>> = {},
  ) => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'rpm-cache-nag-')), context: CDK_JSON_CONTEXT });
    const stack = new RpmCacheStack(app, 'RpmCache', { settings: parseSettings((key) => context[key]) });
    decorate?.(app, stack);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    return app;
  };

  it('finds nothing that is not acknowledged with a reason', () => {
    assert.doesNotThrow(() => checked().synth());
  });

  it('finds nothing in the snapshot schedule either', () => {
    assert.doesNotThrow(() => checked(undefined, { snapshotRepositories: 'pub/a/ pub/b/' }).synth());
  });

  it('finds nothing in the mirror queues and the rescue templates either', () => {
    const context = { mirrorRepositories: 'pub/a/ pub/b/', rescueUrls: RESCUE };
    assert.doesNotThrow(() => checked(undefined, context).synth());
  });

  it('finds nothing in the Function URL front door either, with no acknowledgement added for it', () => {
    const app = checked(undefined, { frontDoor: 'function-url' });
    assert.doesNotThrow(() => app.synth());
    const urlMetadata = app.node
      .findAll()
      .filter((construct) => construct.node.path.includes('FunctionUrl'))
      .flatMap((construct) => construct.node.metadata)
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY);
    assert.deepEqual(urlMetadata, []);
  });

  it('does check the stack: an unacknowledged non-compliant resource stops synth', () => {
    const app = checked((_app, stack) => new s3.Bucket(stack, 'Careless'));
    assert.throws(() => app.synth(), /Validation failed/);
    const report = readFileSync(join(app.outdir, 'validation-report.json'), 'utf8');
    assert.match(report, /AwsSolutions-S10/);
    assert.match(report, /Careless/);
  });

  it('acknowledges every finding with a reason', () => {
    const app = checked();
    // Each entry maps `Annotation::<rule id>` to its reason.
    const acknowledged = app.node
      .findAll()
      .flatMap((construct) => construct.node.metadata)
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>));
    assert.ok(acknowledged.length >= 5);
    for (const [id, reason] of acknowledged) {
      assert.match(id, /^Annotation::AwsSolutions-/);
      assert.ok(reason.length > 40, `${id}: ${reason}`);
    }
  });
});

describe('the image build context', () => {
  it('holds what the Dockerfile copies and nothing else (no node_modules, .git, local cache, infra)', () => {
    const assets = JSON.parse(readFileSync(join(defaults.app.outdir, 'RpmCache.assets.json'), 'utf8'));
    const [image] = Object.values(assets.dockerImages) as { source: { directory: string } }[];
    const context = join(defaults.app.outdir, image?.source.directory ?? 'missing');
    assert.deepEqual(readdirSync(context).sort(), [
      '.dockerignore',
      'Dockerfile',
      'esbuild.config.mjs',
      'package-lock.json',
      'package.json',
      'src',
      'tsconfig.json',
    ]);
    assert.equal(existsSync(join(context, 'src', 'local')), false);
    assert.equal(existsSync(join(context, 'src', 'handler', 'handler.ts')), true);
    assert.equal(existsSync(join(context, 'src', 'uploader', 'uploader.ts')), true);
  });
});

describe('settings from the context', () => {
  it('are each a row of the context table in docs/deployment.md', () => {
    const docs = readFileSync(new URL('../../docs/deployment.md', import.meta.url), 'utf8');
    const rows = docs.split('\n').filter((line) => line.startsWith('| `'));
    for (const key of Object.keys(SETTINGS_HELP)) {
      assert.ok(
        rows.some((row) => row.split('|')[1]?.includes(`\`${key}\``)),
        `${key} is not in the table`,
      );
    }
  });

  for (const [context, message] of [
    [{ originHost: 'https://user:secret@mirror.example' }, /ORIGIN_HOST/],
    [{ origins: 'epel=https://user:secret@x' }, /ORIGINS entry "epel=https:\/\/\*\*\*@x" is invalid/],
    [{ origins: 'a=https://x,https://y', originHeadTimeout: '20' }, /ORIGIN_HEAD_TIMEOUT="20" is invalid.*two HEADs/],
    [{ cacheExtensions: 'rpm' }, /CACHE_EXTENSIONS/],
    [{ presignedUrlExpiration: '999999999' }, /PRESIGNED_URL_EXPIRATION/],
    [{ originHeadTimeout: '60' }, /ORIGIN_HEAD_TIMEOUT/],
    [{ uploadRefusalTtl: '604801' }, /UPLOAD_REFUSAL_TTL="604801" is invalid/],
    [{ metalinkUrl: 'https://user:secret@mirrors.example/metalink' }, /METALINK_URL="https:\/\/\*\*\*@mirrors/],
    [{ metalinkUrl: 'ftp://mirrors.example/metalink' }, /METALINK_URL=.* is invalid: only http and https/],
    [{ architecture: 'sparc' }, /architecture="sparc" is invalid: expected arm64 or x86_64/],
    [{ logRetentionDays: '42' }, /logRetentionDays=42 is invalid: CloudWatch accepts/],
    [{ uploaderReservedConcurrency: '0' }, /uploaderReservedConcurrency="0" is invalid/],
    [{ sentryDsnSecret: 'a', sentryDsnParameter: 'b' }, /choose one/],
    [{ alarmTopicArn: 'topic' }, /alarmTopicArn="topic" is invalid/],
    [{ originOfflinePeriod: '1.5' }, /ORIGIN_OFFLINE_PERIOD="1.5" is invalid/],
    [{ originLostTtl: '999999' }, /ORIGIN_LOST_TTL="999999" is invalid/],
    [{ metalinkAnswerTtl: 'a minute' }, /METALINK_ANSWER_TTL="a minute" is invalid/],
    [{ snapshotExpirationDays: '0' }, /snapshotExpirationDays="0" is invalid/],
    [{ snapshotHistoryDays: '-1' }, /SNAPSHOT_HISTORY_DAYS="-1" is invalid/],
    [{ snapshotHistoryDays: '36501' }, /SNAPSHOT_HISTORY_DAYS="36501" is invalid/],
    [
      { snapshotRepositories: 'pub/fedora/x86_64' },
      /context snapshotRepositories: "pub\/fedora\/x86_64" does not end in \//,
    ],
    [{ snapshotRepositories: '/pub/x/' }, /context snapshotRepositories: "\/pub\/x\/" is not a path under the cache/],
    [
      { snapshotRepositories: 'pub//fedora/' },
      /context snapshotRepositories: "pub\/\/fedora\/" cannot be checked: the uploader would reject pub\/\/fedora\/repodata\/repomd.xml \(path has an empty segment/,
    ],
    [{ snapshotRepositories: 'pub\\fedora/' }, /context snapshotRepositories: .* \(path contains a backslash\)/],
    [{ snapshotRepositories: 'p/'.repeat(500) }, /context snapshotRepositories: .* \(path is too long for a cache key/],
    [
      { snapshotRepositories: Array.from({ length: 41 }, (_, index) => `pub/r${index}/`).join(' ') },
      /context snapshotRepositories names 41 repositories: at most 40 \(.*resource policy.*20 KB\)/,
    ],
    [{ snapshotEveryMinutes: '5' }, /snapshotEveryMinutes=5 is invalid without snapshotRepositories/],
    [{ snapshotRepositories: 'pub/x/', snapshotEveryMinutes: '0' }, /snapshotEveryMinutes="0" is invalid/],
    [{ snapshotRepositories: 'pub/x/', snapshotEveryMinutes: '1441' }, /snapshotEveryMinutes="1441" is invalid/],
    [{ originOfflineAlarmMinutes: '2000' }, /originOfflineAlarmMinutes="2000" is invalid/],
    [{ apiThrottleRate: '0' }, /apiThrottleRate="0" is invalid/],
    [{ frontDoor: 'alb' }, /frontDoor="alb" is invalid: expected http-api or function-url/],
    [{ frontDoor: 'FUNCTION-URL' }, /frontDoor="FUNCTION-URL" is invalid: expected http-api or function-url/],
    [{ handlerReservedConcurrency: '0' }, /handlerReservedConcurrency="0" is invalid: expected a whole number/],
    [
      { frontDoor: 'function-url', handlerReservedConcurrency: '1001' },
      /handlerReservedConcurrency="1001" is invalid: expected a whole number from 1 to 1000/,
    ],
    [
      { frontDoor: 'function-url', handlerReservedConcurrency: 'none' },
      /handlerReservedConcurrency="none" is invalid with frontDoor=function-url: it is the only throttle/,
    ],
    [
      { frontDoor: 'function-url', apiThrottleRate: '50' },
      /apiThrottleRate="50" is invalid with frontDoor=function-url: only frontDoor=http-api has a stage to throttle/,
    ],
    [
      { frontDoor: 'function-url', apiThrottleBurst: '50' },
      /apiThrottleBurst="50" is invalid with frontDoor=function-url/,
    ],
    [
      { mirrorRepositories: 'pub/fedora/x86_64' },
      /context mirrorRepositories: "pub\/fedora\/x86_64" does not end in \//,
    ],
    [
      { mirrorRepositories: 'pub/x/repodata/' },
      /context mirrorRepositories: "pub\/x\/repodata\/" names repodata\/ itself/,
    ],
    [
      { mirrorRepositories: 'pub/x/', mirrorConcurrency: '1' },
      /mirrorConcurrency="1" is invalid: expected a whole number from 2 to 1000/,
    ],
    [
      { mirrorRepositories: 'pub/x/', mirrorConcurrency: '1001' },
      /mirrorConcurrency="1001" is invalid: expected a whole number from 2 to 1000/,
    ],
    [
      { mirrorRepositories: 'pub/x/', mirrorConcurrency: 'x' },
      /mirrorConcurrency="x" is invalid: expected a whole number/,
    ],
    [{ mirrorConcurrency: '5' }, /mirrorConcurrency=5 is invalid without mirrorRepositories/],
    [
      { mirrorRepositories: 'pub/x/', mirrorConcurrency: '20' },
      /mirrorConcurrency=20 is invalid with uploaderReservedConcurrency=10: it must be lower/,
    ],
    [
      { mirrorRepositories: 'pub/x/', mirrorConcurrency: '10' },
      /mirrorConcurrency=10 is invalid with uploaderReservedConcurrency=10: it must be lower, or mirroring takes every uploader/,
    ],
    [
      { mirrorRepositories: 'pub/x/', uploaderReservedConcurrency: '5' },
      /mirrorConcurrency=5 \(the default\) is invalid with uploaderReservedConcurrency=5: .*lower mirrorConcurrency or raise uploaderReservedConcurrency/,
    ],
    [
      { rescueUrls: 'https://archive.example/{name}/{file} ftp://archive.example/{file}' },
      /context rescueUrls: RESCUE_URLS entry "ftp:\/\/archive.example\/\{file\}" is invalid: expected http\(s\)/,
    ],
    [{ rescueUrls: 'https://{name}.example/{file}' }, /context rescueUrls: .* is invalid/],
    [{ rescueUrls: 'https://archive.example/{nme}/{file}' }, /context rescueUrls: .*unknown placeholder \{nme\}/],
  ] as const) {
    it(`refuses ${JSON.stringify(context)}, naming the key`, () => {
      assert.throws(() => parseSettings((key) => (context as Record<string, string>)[key]), message);
    });
  }
});

describe('npm run synth', () => {
  it('synthesizes with the cdk CLI offline, without AWS credentials or Docker', async () => {
    const outdir = mkdtempSync(join(tmpdir(), 'rpm-cache-synth-'));
    try {
      const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')));
      await run('npx', ['cdk', 'synth', '--quiet', '--output', outdir], {
        cwd: INFRA_DIR,
        env: { ...env, HOME: outdir, AWS_EC2_METADATA_DISABLED: 'true' },
        timeout: 120_000,
      });
      const template = JSON.parse(readFileSync(join(outdir, 'RpmCache.template.json'), 'utf8'));
      assert.ok(Object.keys(template.Resources).length > 20);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('synthesizes the Function URL front door with `cdk synth -c frontDoor=function-url`', async () => {
    const outdir = mkdtempSync(join(tmpdir(), 'rpm-cache-synth-'));
    try {
      const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')));
      await run('npx', ['cdk', 'synth', '--quiet', '-c', 'frontDoor=function-url', '--output', outdir], {
        cwd: INFRA_DIR,
        env: { ...env, HOME: outdir, AWS_EC2_METADATA_DISABLED: 'true' },
        timeout: 120_000,
      });
      const template = Template.fromJSON(JSON.parse(readFileSync(join(outdir, 'RpmCache.template.json'), 'utf8')));
      template.resourceCountIs('AWS::Lambda::Url', 1);
      template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE' });
      template.hasResourceProperties('AWS::Lambda::Function', {
        ReservedConcurrentExecutions: 100,
        Environment: { Variables: Match.objectLike({ LAMBDA_HANDLER: 'handler' }) },
      });
      const types = Object.values(template.toJSON().Resources as Record<string, { Type: string }>).map(
        (resource) => resource.Type,
      );
      assert.deepEqual(
        types.filter((type) => type.startsWith('AWS::ApiGatewayV2::')),
        [],
      );
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('synthesizes the mirror queue with `cdk synth -c mirrorRepositories=...`', async () => {
    const outdir = mkdtempSync(join(tmpdir(), 'rpm-cache-synth-'));
    try {
      const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')));
      const repository = 'pub/fedora/linux/updates/44/Everything/x86_64/';
      await run('npx', ['cdk', 'synth', '--quiet', '-c', `mirrorRepositories=${repository}`, '--output', outdir], {
        cwd: INFRA_DIR,
        env: { ...env, HOME: outdir, AWS_EC2_METADATA_DISABLED: 'true' },
        timeout: 120_000,
      });
      const template = Template.fromJSON(JSON.parse(readFileSync(join(outdir, 'RpmCache.template.json'), 'utf8')));
      template.resourceCountIs('AWS::SQS::Queue', 3);
      template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ LAMBDA_HANDLER: 'uploader', MIRROR_REPOSITORIES: repository }) },
      });
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('stops `cdk synth` on an unknown frontDoor, naming the value and the allowed ones', async () => {
    const outdir = mkdtempSync(join(tmpdir(), 'rpm-cache-synth-'));
    try {
      const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')));
      await assert.rejects(
        run('npx', ['cdk', 'synth', '--quiet', '-c', 'frontDoor=cloudfront', '--output', outdir], {
          cwd: INFRA_DIR,
          env: { ...env, HOME: outdir, AWS_EC2_METADATA_DISABLED: 'true' },
          timeout: 120_000,
        }),
        (error: { stderr: string }) => {
          assert.match(
            error.stderr,
            /rpm-cache: context frontDoor="cloudfront" is invalid: expected http-api or function-url/,
          );
          return true;
        },
      );
      assert.equal(existsSync(join(outdir, 'RpmCache.template.json')), false);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('sets every feature flag the CDK recommends for a new app, and says where the template went', async () => {
    const recommended = JSON.parse(
      readFileSync(join(INFRA_DIR, 'node_modules', 'aws-cdk-lib', 'recommended-feature-flags.json'), 'utf8'),
    ) as Record<string, unknown>;
    for (const [flag, value] of Object.entries(recommended)) assert.deepEqual(CDK_JSON_CONTEXT[flag], value, flag);

    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')));
    const { stdout, stderr } = await run('npm', ['run', 'synth'], {
      cwd: INFRA_DIR,
      env: { ...env, AWS_EC2_METADATA_DISABLED: 'true' },
      timeout: 120_000,
    });

    assert.match(stdout, /rpm-cache: template written to infra\/cdk\.out\/RpmCache\.template\.json/);
    assert.doesNotMatch(`${stdout}${stderr}`, /feature flags are not configured/);
  });
});

describe('the snapshot schedule', () => {
  const UPDATES = 'pub/fedora/linux/updates/44/Everything/x86_64/';
  const EPEL = 'epel/10/Everything/x86_64/';

  it('has no rule without snapshotRepositories', () => {
    defaults.template.resourceCountIs('AWS::Events::Rule', 0);
  });

  it('checks each repository with a rule of its own, invoking the uploader with its repomd.xml', () => {
    const { template } = synth({ snapshotRepositories: `${UPDATES} ${EPEL}`, snapshotEveryMinutes: '15' });
    const rules = Object.values(template.findResources('AWS::Events::Rule'));
    assert.equal(rules.length, 2);
    const inputs = rules.map((rule) => {
      assert.equal(rule.Properties.ScheduleExpression, 'rate(15 minutes)');
      const targets = rule.Properties.Targets as {
        Arn: { 'Fn::GetAtt': string[] };
        Input: string;
        RetryPolicy?: unknown;
      }[];
      assert.equal(targets.length, 1);
      assert.match(targets[0]?.Arn['Fn::GetAtt'][0] ?? '', /^Uploader/);
      return JSON.parse(targets[0]?.Input ?? '{}') as unknown;
    });
    assert.deepEqual(
      inputs.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      [{ path: `${EPEL}repodata/repomd.xml` }, { path: `${UPDATES}repodata/repomd.xml` }],
    );
    // EventBridge may invoke the uploader.
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Uploader'), 'Arn'] },
    });
  });

  it('retries and ages deliveries as Lambda does the async events of the uploader, and describes each rule', () => {
    const { template } = synth({ snapshotRepositories: UPDATES, snapshotEveryMinutes: '30' });
    template.hasResourceProperties('AWS::Events::Rule', {
      Description: `rpm-cache: snapshot of ${UPDATES} every 30 min`,
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          RetryPolicy: {
            MaximumRetryAttempts: UPLOADER_ASYNC.retryAttempts,
            MaximumEventAgeInSeconds: UPLOADER_ASYNC.maxEventAge.toSeconds(),
          },
        }),
      ],
    });
    // Once delivered, the uploader's own async settings send a failed check to the failed-uploads queue.
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: Match.stringLikeRegexp('^Uploader') },
      MaximumRetryAttempts: 2,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FailedUploads'), 'Arn'] } },
      },
    });
  });

  it('names a repository of an ORIGINS origin by its name first, as the paths of the handler do', () => {
    const { template } = synth({
      origins: 'epel=https://dl.fedoraproject.org/pub/epel',
      snapshotRepositories: EPEL,
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [Match.objectLike({ Input: JSON.stringify({ path: `${EPEL}repodata/repomd.xml` }) })],
    });
  });

  it('keeps the logical id of each rule when the list is reordered', () => {
    const ids = (repositories: string) =>
      Object.keys(synth({ snapshotRepositories: repositories }).template.findResources('AWS::Events::Rule')).sort();
    assert.deepEqual(ids(`${UPDATES},${EPEL}`), ids(`${EPEL} ${UPDATES}`));
  });

  it(`takes up to ${MAX_SNAPSHOT_REPOSITORIES} repositories, each rule with its own permission to invoke the uploader`, () => {
    const repositories = Array.from({ length: MAX_SNAPSHOT_REPOSITORIES }, (_, index) => `pub/r${index}/`);
    const { template } = synth({ snapshotRepositories: repositories.join(',') });
    template.resourceCountIs('AWS::Events::Rule', MAX_SNAPSHOT_REPOSITORIES);
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission')).filter(
      (permission) => permission.Properties.Principal === 'events.amazonaws.com',
    );
    assert.equal(permissions.length, MAX_SNAPSHOT_REPOSITORIES);
  });

  it('checks hourly by default', () => {
    const { template } = synth({ snapshotRepositories: UPDATES });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 hour)' });
  });

  it('leaves SNAPSHOT_HISTORY_DAYS unset by default: the functions default to 90, as the lifecycle rule does', () => {
    const functions = Object.values(defaults.template.findResources('AWS::Lambda::Function'));
    assert.equal(functions.length, 2);
    for (const fn of functions) assert.equal(fn.Properties.Environment.Variables.SNAPSHOT_HISTORY_DAYS, undefined);
    assert.equal(parseSettings(() => undefined).snapshotHistoryDays, 90);
  });

  it('gives both functions SNAPSHOT_HISTORY_DAYS when set', () => {
    const { template } = synth({ snapshotHistoryDays: '30' });
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    for (const fn of functions) assert.equal(fn.Properties.Environment.Variables.SNAPSHOT_HISTORY_DAYS, '30');
    assert.equal(functions.length, 2);
  });
});

describe('mirroring (mirrorRepositories)', () => {
  const UPDATES = 'pub/fedora/linux/updates/44/Everything/x86_64/';
  const EPEL = 'epel/10/Everything/x86_64/';
  const mirror = synth({ mirrorRepositories: `${UPDATES},${EPEL} ${UPDATES}` });
  const queueArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^MirrorQueue'), 'Arn'] };
  /** The queues of `template` by logical id prefix. */
  const queues = (template: Template, prefix: string) =>
    Object.entries(template.findResources('AWS::SQS::Queue')).filter(([id]) => id.startsWith(prefix));
  const functionOf = (template: Template, name: string) =>
    Object.entries(template.findResources('AWS::Lambda::Function')).find(
      ([, fn]) => fn.Properties.Environment.Variables.LAMBDA_HANDLER === name,
    );

  it('builds no mirror queue, no event source mapping, no alarm and no MIRROR_ variable without mirrorRepositories', () => {
    // The failed-uploads queue is the only queue of the default stack.
    assert.deepEqual(
      Object.keys(defaults.template.findResources('AWS::SQS::Queue')).map((id) => id.replace(/[0-9A-F]{8}$/, '')),
      ['FailedUploads'],
    );
    defaults.template.resourceCountIs('AWS::Lambda::EventSourceMapping', 0);
    assert.equal(defaults.stack.mirror, undefined);
    for (const fn of Object.values(defaults.template.findResources('AWS::Lambda::Function'))) {
      const names = Object.keys(fn.Properties.Environment.Variables);
      assert.deepEqual(
        names.filter((name) => name.startsWith('MIRROR_')),
        [],
      );
    }
    const outputs = Object.keys(defaults.template.toJSON().Outputs);
    assert.deepEqual(
      outputs.filter((name) => name.startsWith('Mirror')),
      [],
    );
  });

  it('builds one queue and one dead-letter queue: encrypted by SQS, kept 14 days, redriven after 5 receives', () => {
    const [queue] = queues(mirror.template, 'MirrorQueue');
    const [deadLetters] = queues(mirror.template, 'MirrorDeadLetterQueue');
    assert.equal(queues(mirror.template, 'Mirror').length, 2);
    mirror.template.resourceCountIs('AWS::SQS::Queue', 3);
    assert.ok(queue && deadLetters);
    const uploaderTimeout = functionOf(mirror.template, 'uploader')?.[1].Properties.Timeout;
    assert.equal(uploaderTimeout, 900);
    assert.deepEqual(queue[1].Properties, {
      MessageRetentionPeriod: 14 * 86_400,
      SqsManagedSseEnabled: true,
      // AWS's recommendation for a Lambda event source: six times the function's timeout.
      VisibilityTimeout: 6 * uploaderTimeout,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [deadLetters[0], 'Arn'] }, maxReceiveCount: 5 },
    });
    assert.deepEqual(deadLetters[1].Properties, { MessageRetentionPeriod: 14 * 86_400, SqsManagedSseEnabled: true });
  });

  it('refuses every request to either queue that does not use TLS', () => {
    const policies = Object.values(mirror.template.findResources('AWS::SQS::QueuePolicy'));
    for (const [id] of [
      ...queues(mirror.template, 'MirrorQueue'),
      ...queues(mirror.template, 'MirrorDeadLetterQueue'),
    ]) {
      const policy = policies.find((candidate) =>
        (candidate.Properties.Queues as { Ref: string }[]).some((queue) => queue.Ref === id),
      );
      assert.deepEqual(policy?.Properties.PolicyDocument.Statement, [
        {
          Action: 'sqs:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Resource: { 'Fn::GetAtt': [id, 'Arn'] },
        },
      ]);
    }
  });

  it('alarms on the first message in the dead-letter queue, missing data not breaching, notifying the topic given', () => {
    const topic = 'arn:aws:sns:eu-west-1:123456789012:rpm-cache-alarms';
    const { template } = synth({ mirrorRepositories: UPDATES, alarmTopicArn: topic });
    const [deadLetters] = queues(template, 'MirrorDeadLetterQueue');
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter((alarm) =>
      JSON.stringify(alarm.Properties.Dimensions).includes('MirrorDeadLetterQueue'),
    );
    assert.equal(alarms.length, 1);
    const { AlarmDescription, ...properties } = alarms[0]?.Properties ?? {};
    assert.match(AlarmDescription, /after 5 tries.*logs name each path.*start-message-move-task/);
    assert.deepEqual(properties, {
      AlarmActions: [topic],
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [deadLetters?.[0], 'QueueName'] } }],
      EvaluationPeriods: 1,
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Period: 300,
      Statistic: 'Maximum',
      Threshold: 1,
      TreatMissingData: 'notBreaching',
    });
    template.resourceCountIs('AWS::CloudWatch::Alarm', 5);
    // And it is on the dashboard's alarm widget with the others.
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    assert.match(JSON.stringify(dashboard?.Properties.DashboardBody), /MirrorDeadLettersAlarm/);
  });

  it('feeds the uploader one message at a time, at most mirrorConcurrency (default 5) at once, failures reported one by one', () => {
    const mapping = (template: Template) => {
      const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'));
      assert.equal(mappings.length, 1);
      return mappings[0]?.Properties;
    };
    const uploaderId = functionOf(mirror.template, 'uploader')?.[0];
    assert.deepEqual(mapping(mirror.template), {
      BatchSize: 1,
      EventSourceArn: { 'Fn::GetAtt': [queues(mirror.template, 'MirrorQueue')[0]?.[0], 'Arn'] },
      FunctionName: { Ref: uploaderId },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
    assert.deepEqual(mapping(synth({ mirrorRepositories: UPDATES, mirrorConcurrency: '4' }).template).ScalingConfig, {
      MaximumConcurrency: 4,
    });
    const unreserved = synth({
      mirrorRepositories: UPDATES,
      mirrorConcurrency: '1000',
      uploaderReservedConcurrency: 'none',
    }).template;
    assert.deepEqual(mapping(unreserved).ScalingConfig, { MaximumConcurrency: 1000 });
  });

  it('creates the mapping only once the uploader, and so its role and policy, exist: CloudFormation checks them', () => {
    const [uploaderId, uploader] = functionOf(mirror.template, 'uploader') ?? [];
    assert.ok(uploaderId && uploader);
    assert.ok((uploader.DependsOn as string[]).some((id) => id.startsWith('UploaderRoleDefaultPolicy')));
  });

  it('gives the uploader MIRROR_REPOSITORIES (space-separated, each once) and MIRROR_QUEUE_URL; the handler neither', () => {
    const uploader = functionOf(mirror.template, 'uploader')?.[1].Properties.Environment.Variables;
    assert.equal(uploader?.MIRROR_REPOSITORIES, `${UPDATES} ${EPEL}`);
    assert.deepEqual(uploader?.MIRROR_QUEUE_URL, { Ref: queues(mirror.template, 'MirrorQueue')[0]?.[0] });
    const handler = functionOf(mirror.template, 'handler')?.[1].Properties.Environment.Variables;
    assert.equal(handler?.MIRROR_REPOSITORIES, undefined);
    assert.equal(handler?.MIRROR_QUEUE_URL, undefined);
  });

  it('lets the uploader send to the mirror queue and consume it, statement by statement, and nothing more', () => {
    assertStatements(statementsOf(mirror.template, 'UploaderRole'), [
      logsOf('UploaderLogs'),
      XRAY,
      {
        Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FailedUploads'), 'Arn'] },
      },
      {
        Sid: 'CacheWrite',
        Action: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
        Effect: 'Allow',
        Resource: objectsUnder('cache/*'),
      },
      {
        Sid: 'SnapshotWrite',
        Action: ['s3:GetObject', 's3:PutObject', 's3:PutObjectTagging', 's3:AbortMultipartUpload'],
        Effect: 'Allow',
        Resource: objectsUnder('snapshots/*'),
      },
      {
        Sid: 'Claims',
        Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        Effect: 'Allow',
        Resource: objectsUnder('claims/*'),
      },
      { Sid: 'RefusalRecords', Action: 's3:PutObject', Effect: 'Allow', Resource: objectsUnder('refusals/*') },
      {
        Sid: 'ListCacheSnapshotsAndClaims',
        Action: 's3:ListBucket',
        Effect: 'Allow',
        Resource: bucketArn,
        Condition: { StringLike: { 's3:prefix': ['cache/*', 'snapshots/*', 'claims/*'] } },
      },
      { Sid: 'MirrorSend', Action: 'sqs:SendMessage', Effect: 'Allow', Resource: queueArn },
      {
        Sid: 'MirrorConsume',
        Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
        Effect: 'Allow',
        Resource: queueArn,
      },
    ]);
  });

  it('grants no sqs action on the dead-letter queue or anything else but the two queues, and none to the handler', () => {
    const queueId = queues(mirror.template, 'MirrorQueue')[0]?.[0];
    const failedUploadsId = queues(mirror.template, 'FailedUploads')[0]?.[0];
    for (const statement of statementsOf(mirror.template, 'UploaderRole')) {
      if (!actionsOf(statement).some((action) => action.startsWith('sqs:'))) continue;
      assert.ok(
        [queueId, failedUploadsId].includes((statement.Resource as { 'Fn::GetAtt': string[] })['Fn::GetAtt']?.[0]),
        JSON.stringify(statement),
      );
    }
    const mirrorStatements = statementsOf(mirror.template, 'UploaderRole').filter((statement) =>
      JSON.stringify(statement.Resource).includes('Mirror'),
    );
    assert.deepEqual(
      mirrorStatements.map((statement) => statement.Sid),
      ['MirrorSend', 'MirrorConsume'],
    );
    assert.doesNotMatch(JSON.stringify(statementsOf(mirror.template, 'UploaderRole')), /MirrorDeadLetterQueue/);
    for (const statement of statementsOf(mirror.template, 'HandlerRole')) {
      for (const action of actionsOf(statement)) assert.doesNotMatch(action, /^sqs:/);
    }
  });

  it('keeps to the two roles, with no action * or service:*', () => {
    const roles = Object.keys(mirror.template.findResources('AWS::IAM::Role'));
    assert.deepEqual(roles.map((id) => id.replace(/[0-9A-F]{8}$/, '')).sort(), ['HandlerRole', 'UploaderRole']);
    for (const policy of Object.values(mirror.template.findResources('AWS::IAM::Policy'))) {
      for (const statement of policy.Properties.PolicyDocument.Statement as Statement[]) {
        for (const action of actionsOf(statement)) assert.doesNotMatch(action, /(^\*$|:\*$)/, `action ${action}`);
      }
    }
  });

  it('outputs the URLs of both queues and the ARN of the dead-letter queue (start-message-move-task takes it)', () => {
    const outputs = mirror.template.toJSON().Outputs;
    assert.deepEqual(outputs.MirrorQueueUrl.Value, { Ref: queues(mirror.template, 'MirrorQueue')[0]?.[0] });
    const deadLettersId = queues(mirror.template, 'MirrorDeadLetterQueue')[0]?.[0];
    assert.deepEqual(outputs.MirrorDeadLetterQueueUrl.Value, { Ref: deadLettersId });
    assert.deepEqual(outputs.MirrorDeadLetterQueueArn.Value, { 'Fn::GetAtt': [deadLettersId, 'Arn'] });
  });
});

describe('refusal records (uploadRefusalTtl)', () => {
  const refusalRule = (template: Template) => {
    const [bucket] = Object.values(template.findResources('AWS::S3::Bucket'));
    const rules = bucket?.Properties.LifecycleConfiguration.Rules as { Id: string; ExpirationInDays?: number }[];
    return rules.find((rule) => rule.Id === 'expire-refusal-records')?.ExpirationInDays;
  };

  it('gives both functions UPLOAD_REFUSAL_TTL, and keeps the records a day longer than they answer', () => {
    const { template } = synth({ uploadRefusalTtl: '604800' });
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      assert.equal(fn.Properties.Environment.Variables.UPLOAD_REFUSAL_TTL, '604800');
    }
    assert.equal(refusalRule(template), 8);
    assert.equal(refusalRule(synth({ uploadRefusalTtl: '3600' }).template), 2);
  });

  it('with 0, has no refusal records: no rule, no statement naming refusals/', () => {
    const { template } = synth({ uploadRefusalTtl: '0' });
    assert.equal(refusalRule(template), undefined);
    assert.doesNotMatch(JSON.stringify(statementsOf(template, 'UploaderRole')), /refusals/);
    assert.doesNotMatch(JSON.stringify(statementsOf(template, 'HandlerRole')), /refusals/);
  });
});

describe('rescue templates (rescueUrls)', () => {
  it('gives both functions RESCUE_URLS, space-separated', () => {
    const { template } = synth({ rescueUrls: RESCUE.replace(' ', '\n  ') });
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    assert.equal(functions.length, 2);
    for (const fn of functions) assert.equal(fn.Properties.Environment.Variables.RESCUE_URLS, RESCUE);
  });

  it('lets the uploader get/put rescue records and the handler read them, statement by statement; a lifecycle rule expires them', () => {
    const { template } = synth({ rescueUrls: RESCUE });
    const uploader = statementsOf(template, 'UploaderRole');
    const records = uploader.filter((statement) => JSON.stringify(statement).includes('rescues/'));
    assert.equal(records.length, 2);
    assertStatements(records, [
      {
        Sid: 'RescueRecords',
        Action: ['s3:GetObject', 's3:PutObject'],
        Effect: 'Allow',
        Resource: objectsUnder('rescues/*'),
      },
      {
        Sid: 'ListCacheSnapshotsAndClaims',
        Action: 's3:ListBucket',
        Effect: 'Allow',
        Resource: bucketArn,
        Condition: { StringLike: { 's3:prefix': ['cache/*', 'snapshots/*', 'claims/*', 'rescues/*'] } },
      },
    ]);
    assertStatements(
      statementsOf(template, 'HandlerRole').filter((statement) => JSON.stringify(statement).includes('rescues/')),
      [
        {
          Sid: 'CacheRead',
          Action: 's3:GetObject',
          Effect: 'Allow',
          Resource: [
            objectsUnder('cache/*'),
            objectsUnder('refusals/*'),
            objectsUnder('rescues/*'),
            objectsUnder('snapshots/*'),
          ],
        },
        {
          Sid: 'ListCacheAndSnapshots',
          Action: 's3:ListBucket',
          Effect: 'Allow',
          Resource: bucketArn,
          Condition: { StringLike: { 's3:prefix': ['cache/*', 'snapshots/*', 'rescues/*', 'refusals/*'] } },
        },
      ],
    );
    const [bucket] = Object.values(template.findResources('AWS::S3::Bucket'));
    const rules = bucket?.Properties.LifecycleConfiguration.Rules as {
      Id: string;
      Prefix?: string;
      ExpirationInDays?: number;
    }[];
    assert.deepEqual(
      rules
        .filter((rule) => rule.Id === 'expire-rescue-records')
        .map(({ Prefix, ExpirationInDays }) => [Prefix, ExpirationInDays]),
      [['rescues/', 1]],
    );
    assert.doesNotMatch(JSON.stringify(defaults.template.toJSON()), /rescues\//);
  });

  it('leaves RESCUE_URLS unset by default', () => {
    for (const fn of Object.values(defaults.template.findResources('AWS::Lambda::Function'))) {
      assert.equal(fn.Properties.Environment.Variables.RESCUE_URLS, undefined);
    }
  });
});

describe('the metalink service (metalinkUrl)', () => {
  it('gives the functions METALINK_URL, so the handler answers /metalink and /mirrorlist itself', () => {
    const { template } = synth({ metalinkUrl: 'https://mirrors.fedoraproject.org/metalink' });
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    assert.equal(functions.length, 2);
    for (const fn of functions) {
      assert.equal(fn.Properties.Environment.Variables.METALINK_URL, 'https://mirrors.fedoraproject.org/metalink');
    }
  });

  it('lets the handler get/put the repo/arch mappings under metalink/ and list there, statement by statement; the uploader not', () => {
    const { template } = synth({ metalinkUrl: 'https://mirrors.fedoraproject.org/metalink' });

    assertStatements(
      statementsOf(template, 'HandlerRole').filter((statement) => JSON.stringify(statement).includes('metalink/')),
      [
        {
          Sid: 'MetalinkMappings',
          Action: ['s3:GetObject', 's3:PutObject'],
          Effect: 'Allow',
          Resource: objectsUnder('metalink/*'),
        },
        {
          Sid: 'ListMetalinkMappings',
          Action: 's3:ListBucket',
          Effect: 'Allow',
          Resource: bucketArn,
          Condition: { StringLike: { 's3:prefix': ['metalink/*'] } },
        },
      ],
    );
    assert.doesNotMatch(JSON.stringify(statementsOf(template, 'UploaderRole')), /metalink\//);
    assert.doesNotMatch(JSON.stringify(defaults.template.toJSON()), /metalink\//);
  });

  it('gives the functions METALINK_ANSWER_TTL from metalinkAnswerTtl', () => {
    const { template } = synth({ metalinkUrl: 'https://mirrors.fedoraproject.org/metalink', metalinkAnswerTtl: '0' });
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      assert.equal(fn.Properties.Environment.Variables.METALINK_ANSWER_TTL, '0');
    }
  });

  it('leaves METALINK_URL unset by default', () => {
    for (const fn of Object.values(defaults.template.findResources('AWS::Lambda::Function'))) {
      assert.equal(fn.Properties.Environment.Variables.METALINK_URL, undefined);
    }
  });
});
