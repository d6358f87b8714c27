/**
 * rpm-cache in one stack: the cache bucket, the handler and uploader Lambdas
 * from one container image, the front door of the handler (an HTTP API, or the
 * handler's own Function URL: `frontDoor`), log groups, saved Logs Insights
 * queries, a dashboard and alarms; with `mirrorRepositories`, the queue the
 * uploader mirrors those repositories' RPMs through.
 *
 * IAM is written out statement by statement rather than with `grant*()`
 * helpers, which grant more than rpm-cache uses (bucket.grantRead gives
 * s3:GetObject*, s3:GetBucket*, s3:List* on the whole bucket).
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  aws_apigatewayv2 as apigateway,
  aws_apigatewayv2_integrations as apigatewayIntegrations,
  CfnOutput,
  aws_cloudwatch_actions as cloudwatchActions,
  Duration,
  aws_lambda_destinations as destinations,
  aws_ecr_assets as ecrAssets,
  aws_events as events,
  aws_events_targets as eventsTargets,
  Fn,
  aws_iam as iam,
  aws_lambda as lambda,
  aws_logs as logs,
  RemovalPolicy,
  SecretValue,
  Stack,
  type StackProps,
  aws_s3 as s3,
  aws_sns as sns,
  aws_sqs as sqs,
  aws_ssm as ssm,
  Validations,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { scheduledCheckPath } from '../../src/commons/snapshot-schedule.ts';
import { SNAPSHOT_TAG } from '../../src/commons/snapshot-tag.ts';
import { createDashboard } from './dashboard.ts';
import { FUNCTION_SIZES } from './function-sizes.ts';
import { LOG_QUERIES } from './log-queries.ts';
import { type DeploymentSettings, MIRROR_MAX_RECEIVE_COUNT } from './settings.ts';

/** The project root: the Docker build context, with the Dockerfile and its .dockerignore. */
export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const METRICS_NAMESPACE = 'RpmCache';
export const SERVICE_NAME = 'rpm-cache';

/** Each Lambda's size (see function-sizes.ts for why). */
export const HANDLER_SIZE = Object.freeze({
  memoryMb: FUNCTION_SIZES.handler.memoryMb,
  timeout: Duration.seconds(FUNCTION_SIZES.handler.timeoutSeconds),
});
export const UPLOADER_SIZE = Object.freeze({
  memoryMb: FUNCTION_SIZES.uploader.memoryMb,
  timeout: Duration.seconds(FUNCTION_SIZES.uploader.timeoutSeconds),
});
/** Lambda's async retries, and how long an event may wait (the most Lambda allows). */
export const UPLOADER_ASYNC = Object.freeze({ retryAttempts: 2, maxEventAge: Duration.hours(6) });
/**
 * How long a received mirror message stays hidden: AWS recommends at least six times the function's timeout for a
 * Lambda event source, so Lambda can retry an invocation it throttled before the message reappears, and a file whose
 * upload is still running is not handed to a second uploader.
 */
export const MIRROR_VISIBILITY_TIMEOUT = Duration.seconds(6 * FUNCTION_SIZES.uploader.timeoutSeconds);

export interface RpmCacheStackProps extends StackProps {
  readonly settings: DeploymentSettings;
}

const XRAY_ONLY_ON_ANY_RESOURCE =
  'X-Ray accepts PutTraceSegments/PutTelemetryRecords only on "*"; CDK adds them for active tracing.';

/**
 * A Function URL ends in `/`; the HTTP API's endpoint does not, and clients append paths to it (`$API/pub/...`):
 * `https://` and the host only, so no `//pub/...` reaches the handler.
 */
const withoutTrailingSlash = (functionUrl: string): string =>
  Fn.join('', ['https://', Fn.select(2, Fn.split('/', functionUrl))]);

export class RpmCacheStack extends Stack {
  readonly bucket: s3.Bucket;
  readonly handler: lambda.DockerImageFunction;
  readonly uploader: lambda.DockerImageFunction;
  /** The HTTP API in front of the handler (frontDoor=http-api), or undefined. */
  readonly api: apigateway.HttpApi | undefined;
  /** The handler's own URL (frontDoor=function-url), or undefined. */
  readonly functionUrl: lambda.FunctionUrl | undefined;
  /** The queue the uploader mirrors from and its dead-letter queue (mirrorRepositories), or undefined. */
  readonly mirror: { readonly queue: sqs.Queue; readonly deadLetters: sqs.Queue } | undefined;

  constructor(scope: Construct, id: string, props: RpmCacheStackProps) {
    super(scope, id, props);
    const { settings } = props;
    // RESCUE_URLS: the uploader records failed rescues under rescues/, the handler reads them.
    const rescuing = settings.lambdaEnvironment.RESCUE_URLS !== undefined;
    const rescuePrefixes = rescuing ? ['rescues/*'] : [];
    // UPLOAD_REFUSAL_TTL above 0: the uploader records refused origin copies under refusals/, the handler reads them.
    const refusing = settings.uploadRefusalTtlSeconds > 0;
    const refusalPrefixes = refusing ? ['refusals/*'] : [];
    // METALINK_URL: the handler keeps under metalink/ which repository each repo/arch mapped to (docs/metalink.md).
    const metalinking = settings.lambdaEnvironment.METALINK_URL !== undefined;

    this.bucket = new s3.Bucket(this, 'CacheBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // The cached RPMs are the point: they may exist nowhere else any more.
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        // Uploaders killed by their timeout leave multipart uploads behind.
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        // Claims live minutes; one left by a dead uploader goes after a day.
        { id: 'expire-claims', prefix: 'claims/', expiration: Duration.days(1) },
        // A failed rescue's record answers for an hour; a day keeps it for whoever looks into it.
        ...(rescuing ? [{ id: 'expire-rescue-records', prefix: 'rescues/', expiration: Duration.days(1) }] : []),
        // A refusal answers until its own end (UPLOAD_REFUSAL_TTL); a day more keeps it for whoever looks into it.
        ...(refusing
          ? [
              {
                id: 'expire-refusal-records',
                prefix: 'refusals/',
                expiration: Duration.days(Math.ceil(settings.uploadRefusalTtlSeconds / 86_400) + 1),
              },
            ]
          : []),
        // Files a snapshot run stored that never became part of a snapshot (it lost, failed or ended incomplete).
        {
          id: 'expire-superseded-snapshots',
          prefix: 'snapshots/',
          tagFilters: { [SNAPSHOT_TAG]: 'unreferenced' },
          expiration: Duration.days(settings.snapshotExpirationDays),
        },
        // The history: superseded snapshots' files (renewed when retired, so days count from the supersession) and
        // the entries (each naming the snapshot it superseded). SNAPSHOT_HISTORY_DAYS=0 keeps them for ever.
        ...(settings.snapshotHistoryDays === 0
          ? []
          : [
              {
                id: 'expire-snapshot-history',
                prefix: 'snapshots/',
                tagFilters: { [SNAPSHOT_TAG]: 'history' },
                expiration: Duration.days(Math.max(settings.snapshotHistoryDays, settings.snapshotExpirationDays)),
              },
            ]),
        ...(settings.cacheExpirationDays === undefined
          ? []
          : [{ id: 'expire-cache', prefix: 'cache/', expiration: Duration.days(settings.cacheExpirationDays) }]),
      ],
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Access logs would record every presigned GET; both functions log each request and upload, and CloudTrail data events can be enabled per account.',
    });

    const imagePlatform =
      settings.architecture === 'arm64' ? ecrAssets.Platform.LINUX_ARM64 : ecrAssets.Platform.LINUX_AMD64;
    const architecture = settings.architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64;
    // Both functions use the same asset: one build, one image, one push.
    const image = new ecrAssets.DockerImageAsset(this, 'Image', { directory: PROJECT_ROOT, platform: imagePlatform });

    const sharedEnvironment: Record<string, string> = {
      ...settings.lambdaEnvironment,
      S3_BUCKET_NAME: this.bucket.bucketName,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      ...this.sentryDsn(settings),
    };

    const failedUploads = new sqs.Queue(this, 'FailedUploads', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(failedUploads).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter destination of the uploader’s failed async invocations.',
    });

    this.mirror = settings.mirrorRepositories.length === 0 ? undefined : this.mirrorQueues();

    /** One of the two functions: the shared image and architecture, its own role, logs, size and environment. */
    const imageFunction = (
      id: string,
      role: iam.Role,
      logGroup: logs.LogGroup,
      size: { readonly memoryMb: number; readonly timeout: Duration },
      props: Pick<lambda.DockerImageFunctionProps, 'description' | 'environment' | 'reservedConcurrentExecutions'>,
    ) =>
      new lambda.DockerImageFunction(this, id, {
        code: lambda.DockerImageCode.fromEcr(image.repository, { tagOrDigest: image.imageTag }),
        architecture,
        memorySize: size.memoryMb,
        timeout: size.timeout,
        role,
        logGroup,
        tracing: lambda.Tracing.ACTIVE,
        ...props,
      });

    const uploaderLogs = this.logGroup('UploaderLogs', settings);
    const uploaderRole = this.functionRole('UploaderRole', uploaderLogs);
    this.uploader = imageFunction('Uploader', uploaderRole, uploaderLogs, UPLOADER_SIZE, {
      description: 'rpm-cache uploader: streams one RPM from origin into S3, verified',
      ...(settings.uploaderReservedConcurrency === undefined
        ? {}
        : { reservedConcurrentExecutions: settings.uploaderReservedConcurrency }),
      environment: {
        ...sharedEnvironment,
        LAMBDA_HANDLER: 'uploader',
        ...(this.mirror === undefined
          ? {}
          : {
              MIRROR_REPOSITORIES: settings.mirrorRepositories.join(' '),
              MIRROR_QUEUE_URL: this.mirror.queue.queueUrl,
            }),
      },
    });
    this.uploader.configureAsyncInvoke({
      ...UPLOADER_ASYNC,
      onFailure: new destinations.SqsDestination(failedUploads),
    });
    uploaderRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'CacheWrite',
        actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
        resources: [this.bucket.arnForObjects('cache/*')],
      }),
    );
    uploaderRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'SnapshotWrite',
        // Files are stored tagged unreferenced, tagged current once a manifest names them, and retired by a copy onto
        // themselves (GetObject + PutObject + PutObjectTagging) so the lifecycle counts from the supersession.
        actions: ['s3:GetObject', 's3:PutObject', 's3:PutObjectTagging', 's3:AbortMultipartUpload'],
        resources: [this.bucket.arnForObjects('snapshots/*')],
      }),
    );
    uploaderRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'Claims',
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        resources: [this.bucket.arnForObjects('claims/*')],
      }),
    );
    if (rescuing) {
      uploaderRole.addToPolicy(
        new iam.PolicyStatement({
          sid: 'RescueRecords',
          actions: ['s3:GetObject', 's3:PutObject'],
          resources: [this.bucket.arnForObjects('rescues/*')],
        }),
      );
    }
    if (refusing) {
      uploaderRole.addToPolicy(
        new iam.PolicyStatement({
          sid: 'RefusalRecords',
          // Written when a download is refused; the uploader never reads them (the handler does).
          actions: ['s3:PutObject'],
          resources: [this.bucket.arnForObjects('refusals/*')],
        }),
      );
    }
    // Without it S3 answers 403 instead of 404 for a missing key: "not cached
    // yet" and "no claim" would look like errors and every upload would fail.
    uploaderRole.addToPolicy(
      this.listWithin('ListCacheSnapshotsAndClaims', ['cache/*', 'snapshots/*', 'claims/*', ...rescuePrefixes]),
    );
    if (this.mirror !== undefined) this.mirrorFrom(this.mirror.queue, uploaderRole, settings);

    this.snapshotSchedule(settings);

    const handlerLogs = this.logGroup('HandlerLogs', settings);
    const handlerRole = this.functionRole('HandlerRole', handlerLogs);
    this.handler = imageFunction('Handler', handlerRole, handlerLogs, HANDLER_SIZE, {
      description: 'rpm-cache handler: answers every request with a 302 to origin or to the cached copy',
      ...(settings.handlerReservedConcurrency === undefined
        ? {}
        : { reservedConcurrentExecutions: settings.handlerReservedConcurrency }),
      environment: {
        ...sharedEnvironment,
        LAMBDA_HANDLER: 'handler',
        UPLOADER_LAMBDA_ARN: this.uploader.functionArn,
      },
    });
    handlerRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'CacheRead',
        // HeadObject, the snapshot manifest, and the presigned GET/HEAD that is signed with this role.
        actions: ['s3:GetObject'],
        resources: [
          this.bucket.arnForObjects('cache/*'),
          this.bucket.arnForObjects('snapshots/*'),
          ...(rescuing ? [this.bucket.arnForObjects('rescues/*')] : []),
          ...(refusing ? [this.bucket.arnForObjects('refusals/*')] : []),
        ],
      }),
    );
    handlerRole.addToPolicy(
      this.listWithin('ListCacheAndSnapshots', ['cache/*', 'snapshots/*', ...rescuePrefixes, ...refusalPrefixes]),
    );
    if (metalinking) {
      handlerRole.addToPolicy(
        new iam.PolicyStatement({
          sid: 'MetalinkMappings',
          // Written when the mirror manager answers, read when it is down: metalink/<repo>/<arch>.json.
          actions: ['s3:GetObject', 's3:PutObject'],
          resources: [this.bucket.arnForObjects('metalink/*')],
        }),
      );
      // So the GetObject of a repo/arch never mapped answers 404, not 403.
      handlerRole.addToPolicy(this.listWithin('ListMetalinkMappings', ['metalink/*']));
    }
    handlerRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'TriggerUpload',
        actions: ['lambda:InvokeFunction'],
        resources: [this.uploader.functionArn],
      }),
    );
    this.acknowledgeWildcards(handlerRole, handlerLogs, [
      'cache/*',
      'snapshots/*',
      ...rescuePrefixes,
      ...refusalPrefixes,
      ...(metalinking ? ['metalink/*'] : []),
    ]);
    this.acknowledgeWildcards(uploaderRole, uploaderLogs, [
      'cache/*',
      'snapshots/*',
      'claims/*',
      ...rescuePrefixes,
      ...refusalPrefixes,
    ]);

    /** Where clients send their requests, whichever the front door. */
    let frontDoorUrl: string;
    if (settings.frontDoor === 'http-api') {
      this.api = this.httpApi(settings);
      this.functionUrl = undefined;
      frontDoorUrl = this.api.apiEndpoint;
    } else {
      this.api = undefined;
      this.functionUrl = this.publicFunctionUrl();
      frontDoorUrl = withoutTrailingSlash(this.functionUrl.url);
    }

    for (const query of LOG_QUERIES) {
      const groups =
        query.logGroups === 'request'
          ? [handlerLogs]
          : query.logGroups === 'upload'
            ? [uploaderLogs]
            : [handlerLogs, uploaderLogs];
      // The L1 resource: the L2 QueryString only builds queries from parts.
      new logs.CfnQueryDefinition(this, `Query-${query.name}`, {
        name: `${this.stackName}/${query.name}`,
        queryString: query.query,
        logGroupNames: groups.map((group) => group.logGroupName),
      });
    }

    const { alarms } = createDashboard(this, {
      namespace: METRICS_NAMESPACE,
      service: SERVICE_NAME,
      fallbackAlarmThreshold: settings.fallbackAlarmThreshold,
      originOfflineAlarmMinutes: settings.originOfflineAlarmMinutes,
      failedUploads,
      mirror:
        this.mirror === undefined
          ? undefined
          : { deadLetters: this.mirror.deadLetters, maxReceiveCount: MIRROR_MAX_RECEIVE_COUNT },
    });
    if (settings.alarmTopicArn !== undefined) {
      const topic = sns.Topic.fromTopicArn(this, 'AlarmTopic', settings.alarmTopicArn);
      for (const alarm of alarms) alarm.addAlarmAction(new cloudwatchActions.SnsAction(topic));
    }

    // One output for either front door, so the docs, the CLI's hints and scripts reading ApiUrl need not know which.
    new CfnOutput(this, 'ApiUrl', {
      description:
        this.functionUrl === undefined
          ? 'rpm-cache URL: use it in place of https://dl.fedoraproject.org'
          : 'rpm-cache URL (the handler’s Function URL): use it in place of https://dl.fedoraproject.org',
      value: frontDoorUrl,
    });
    new CfnOutput(this, 'BucketName', { description: 'S3 bucket holding cache/<path>', value: this.bucket.bucketName });
    new CfnOutput(this, 'FailedUploadsQueueUrl', {
      description: 'Uploader events that failed every retry',
      value: failedUploads.queueUrl,
    });
    if (this.mirror !== undefined) {
      new CfnOutput(this, 'MirrorQueueUrl', {
        description: 'One message per RPM of mirrorRepositories still to store',
        value: this.mirror.queue.queueUrl,
      });
      new CfnOutput(this, 'MirrorDeadLetterQueueUrl', {
        description: 'Mirror messages that failed every try',
        value: this.mirror.deadLetters.queueUrl,
      });
      // aws sqs start-message-move-task takes the dead-letter queue by ARN, not by URL.
      new CfnOutput(this, 'MirrorDeadLetterQueueArn', {
        description: 'The mirror dead-letter queue, for aws sqs start-message-move-task --source-arn',
        value: this.mirror.deadLetters.queueArn,
      });
    }
  }

  /**
   * The mirror queue and its dead-letter queue, both kept 14 days (SQS's longest): a standard queue's message keeps
   * its first enqueue time in the dead-letter queue, so it stays there for what is left of those 14 days.
   */
  private mirrorQueues(): { queue: sqs.Queue; deadLetters: sqs.Queue } {
    const deadLetters = new sqs.Queue(this, 'MirrorDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const queue = new sqs.Queue(this, 'MirrorQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      visibilityTimeout: MIRROR_VISIBILITY_TIMEOUT,
      deadLetterQueue: { queue: deadLetters, maxReceiveCount: MIRROR_MAX_RECEIVE_COUNT },
    });
    return { queue, deadLetters };
  }

  /**
   * The uploader sends one message per RPM of a new snapshot to the mirror queue and consumes it through an event
   * source mapping: one file per invocation (a batch would share one 15-minute timeout), failed files reported one
   * by one. lambda.EventSourceMapping rather than SqsEventSource, whose queue.grantConsumeMessages adds
   * sqs:GetQueueUrl, which neither the uploader nor Lambda's poller uses.
   */
  private mirrorFrom(queue: sqs.Queue, role: iam.Role, settings: DeploymentSettings): void {
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'MirrorSend',
        // SendMessageBatch is authorised by sqs:SendMessage.
        actions: ['sqs:SendMessage'],
        resources: [queue.queueArn],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'MirrorConsume',
        // What Lambda's poller calls with the function's role; nothing more (CDK's consumer grant adds more).
        actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
        resources: [queue.queueArn],
      }),
    );
    // CloudFormation checks the role's permissions when it creates the mapping: the uploader, which the mapping
    // names, already waits for the role and its policy.
    this.uploader.addEventSourceMapping('MirrorQueueSource', {
      eventSourceArn: queue.queueArn,
      batchSize: 1,
      maxConcurrency: settings.mirrorConcurrency,
      reportBatchItemFailures: true,
    });
  }

  /** SENTRY_DSN from a Secrets Manager secret or an SSM String parameter, resolved at deploy. */
  private sentryDsn(settings: DeploymentSettings): Record<string, string> {
    if (settings.sentryDsnSecret !== undefined) {
      return { SENTRY_DSN: SecretValue.secretsManager(settings.sentryDsnSecret).unsafeUnwrap() };
    }
    if (settings.sentryDsnParameter !== undefined) {
      return { SENTRY_DSN: ssm.StringParameter.valueForStringParameter(this, settings.sentryDsnParameter) };
    }
    return {};
  }

  /**
   * One EventBridge rule per repository in `snapshotRepositories` (a rule
   * takes at most five targets): every `snapshotEveryMinutes` it invokes the
   * uploader asynchronously with the repository's repomd.xml, as a client's
   * request does, so the history has no holes. Once delivered, the uploader's
   * async settings (retries, the failed-uploads queue) apply; EventBridge's own
   * delivery retries take the same bounds. No dead-letter queue for delivery:
   * CDK adds one statement per rule to the queue's policy, and SQS takes at most
   * 20; delivery fails only when Lambda refuses the Invoke itself (a missing
   * permission, an outage), never because a snapshot failed.
   */
  private snapshotSchedule(settings: DeploymentSettings): void {
    for (const repository of settings.snapshotRepositories) {
      // Named by the path, not its place in the list: reordering the context replaces no rule.
      const id = createHash('sha256').update(repository).digest('hex').slice(0, 12);
      new events.Rule(this, `SnapshotCheck${id}`, {
        description: `rpm-cache: snapshot of ${repository} every ${settings.snapshotEveryMinutes} min`.slice(0, 512),
        schedule: events.Schedule.rate(Duration.minutes(settings.snapshotEveryMinutes)),
        targets: [
          new eventsTargets.LambdaFunction(this.uploader, {
            event: events.RuleTargetInput.fromObject({ path: scheduledCheckPath(repository) }),
            ...UPLOADER_ASYNC,
          }),
        ],
      });
    }
  }

  private logGroup(id: string, settings: DeploymentSettings): logs.LogGroup {
    return new logs.LogGroup(this, id, {
      retention: settings.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }

  /** A role that may write to its own log group and nothing else yet. */
  private functionRole(id: string, logGroup: logs.LogGroup): iam.Role {
    const role = new iam.Role(this, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'Logs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    return role;
  }

  /** s3:ListBucket limited to key prefixes, so HeadObject/GetObject of a missing key answers 404. */
  private listWithin(sid: string, prefixes: string[]): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid,
      actions: ['s3:ListBucket'],
      resources: [this.bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': prefixes } },
    });
  }

  /**
   * cdk-nag flags every wildcard in a resource; each one here is the
   * narrowest bound there is, acknowledged finding by finding.
   */
  private acknowledgeWildcards(role: iam.Role, logGroup: logs.LogGroup, objectPrefixes: string[]): void {
    const resource = (token: string) => `AwsSolutions-IAM5[Resource::${token}]`;
    const bucketArn = this.resolveLogicalId(this.bucket);
    Validations.of(role).acknowledge(
      { id: resource('*'), reason: XRAY_ONLY_ON_ANY_RESOURCE },
      {
        id: resource(`<${this.resolveLogicalId(logGroup)}.Arn>`),
        reason: 'Log streams are created and named by Lambda inside this function’s own log group.',
      },
      ...objectPrefixes.map((prefix) => ({
        id: resource(`<${bucketArn}.Arn>/${prefix}`),
        reason: 'Object keys are the file paths of the mirror: the key prefix is the narrowest bound there is.',
      })),
    );
  }

  private resolveLogicalId(construct: s3.Bucket | logs.LogGroup): string {
    return this.getLogicalId(construct.node.defaultChild as s3.CfnBucket | logs.CfnLogGroup);
  }

  /**
   * The handler's Function URL, public: dnf, zypper and hermeto cannot sign requests (AuthType AWS_IAM would
   * need SigV4). CDK grants `lambda:InvokeFunctionUrl` and `lambda:InvokeFunction` (only via the URL) to anyone.
   */
  private publicFunctionUrl(): lambda.FunctionUrl {
    return this.handler.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
  }

  private httpApi(settings: DeploymentSettings): apigateway.HttpApi {
    const accessLogs = this.logGroup('ApiAccessLogs', settings);
    const integration = new apigatewayIntegrations.HttpLambdaIntegration('HandlerIntegration', this.handler, {
      payloadFormatVersion: apigateway.PayloadFormatVersion.VERSION_2_0,
    });
    const api = new apigateway.HttpApi(this, 'Api', {
      description: 'rpm-cache: the path mirrors the origin URL',
      createDefaultStage: true,
    });
    // `/` too, so a request without a path gets the handler's 400 rather than API Gateway's 404.
    api.addRoutes({ path: '/{path+}', methods: [apigateway.HttpMethod.ANY], integration });
    api.addRoutes({ path: '/', methods: [apigateway.HttpMethod.ANY], integration });
    const stage = api.defaultStage?.node.defaultChild as apigateway.CfnStage;
    // A public API: one client looping on it must not take every handler execution of the account.
    stage.defaultRouteSettings = {
      throttlingRateLimit: settings.apiThrottleRate,
      throttlingBurstLimit: settings.apiThrottleBurst,
    };
    stage.accessLogSettings = {
      destinationArn: accessLogs.logGroupArn,
      format: JSON.stringify({
        requestId: '$context.requestId',
        ip: '$context.identity.sourceIp',
        requestTime: '$context.requestTime',
        method: '$context.httpMethod',
        path: '$context.path',
        status: '$context.status',
        responseLength: '$context.responseLength',
        integrationLatency: '$context.integrationLatency',
        integrationError: '$context.integrationErrorMessage',
      }),
    };
    for (const route of api.node.findAll().filter((child) => child instanceof apigateway.CfnRoute)) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'A public package mirror: dnf, yum and CI clients fetch without credentials, as from dl.fedoraproject.org; every answer is a redirect.',
      });
    }
    return api;
  }
}
