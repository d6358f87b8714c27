/**
 * The CloudWatch dashboard and alarms over the metrics the Lambdas write
 * (see src/commons/metrics.ts for names, units and dimensions).
 */
import { aws_cloudwatch as cloudwatch, Duration, type aws_sqs as sqs } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

export interface DashboardOptions {
  readonly namespace: string;
  readonly service: string;
  readonly fallbackAlarmThreshold: number;
  readonly originOfflineAlarmMinutes: number;
  readonly failedUploads: sqs.IQueue;
  /** The mirror queue's dead-letter queue and the receives before it (mirrorRepositories), or undefined: no alarm. */
  readonly mirror: { readonly deadLetters: sqs.IQueue; readonly maxReceiveCount: number } | undefined;
}

export const REQUEST_OUTCOMES = ['hit', 'stale', 'stored', 'miss', 'bypass', 'fallback', 'bad-request'] as const;
export const SNAPSHOT_OUTCOMES = [
  'stored',
  'already-current',
  'outdated',
  'origin-missing',
  'incomplete',
  'corrupt',
  'claimed-elsewhere',
  'lost-race',
] as const;
export const STALE_REASONS = ['origin-failed', 'assumed-offline', 'origin-lost'] as const;
/** Answers under /@ (src/handler/time-travel/answer.ts, and the fallback's 503). */
export const TIME_TRAVEL_OUTCOMES = [
  'served',
  'not-in-snapshot',
  'before-history',
  'future',
  'malformed',
  'no-history',
  'listed',
  'passed-through',
  'unavailable',
] as const;
export const UPLOAD_OUTCOMES = [
  'stored',
  'already-cached',
  'origin-missing',
  'corrupt',
  'lost-race',
  'claimed-elsewhere',
  'failed',
  'rejected',
] as const;

const PERIOD = Duration.minutes(5);

export const createDashboard = (scope: Construct, options: DashboardOptions) => {
  const { namespace, service } = options;
  // Alarms take unlabelled metrics: a label turns the alarm into a metric-math one.
  const metric = (metricName: string, statistic: string, dimensions: Record<string, string> = {}, label?: string) =>
    new cloudwatch.Metric({
      namespace,
      metricName,
      statistic,
      period: PERIOD,
      dimensionsMap: { service, ...dimensions },
      ...(label === undefined ? {} : { label }),
    });
  const requests = (outcome: string) => metric('Requests', 'Sum', { Outcome: outcome }, outcome);
  const uploads = (outcome: string) => metric('Uploads', 'Sum', { Outcome: outcome }, outcome);

  const hitRatio = new cloudwatch.MathExpression({
    expression: '100 * hit / (hit + stored + miss)',
    usingMetrics: { hit: requests('hit'), stored: requests('stored'), miss: requests('miss') },
    label: 'hit ratio % (served from the cache)',
    period: PERIOD,
  });
  const cachedRatio = new cloudwatch.MathExpression({
    expression: '100 * (hit + stored) / (hit + stored + miss)',
    usingMetrics: { hit: requests('hit'), stored: requests('stored'), miss: requests('miss') },
    label: 'cached % (a copy existed)',
    period: PERIOD,
  });

  const fallbackAlarm = new cloudwatch.Alarm(scope, 'FallbackAlarm', {
    alarmDescription:
      'Requests fell back to origin because S3 or Lambda failed: the cache is not being used. See the fallbacks-by-cause query.',
    metric: metric('Requests', 'Sum', { Outcome: 'fallback' }),
    threshold: options.fallbackAlarmThreshold,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  const corruptAlarm = new cloudwatch.Alarm(scope, 'CorruptUploadAlarm', {
    alarmDescription:
      'The origin served a file that failed verification (truncated, altered, not an RPM): it was not cached. See the uploader-failures-and-corrupt-downloads query.',
    metric: metric('Uploads', 'Sum', { Outcome: 'corrupt' }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  const originOfflineAlarm = new cloudwatch.Alarm(scope, 'OriginOfflineAlarm', {
    alarmDescription: `The origin has been assumed offline (its HEADs time out) for ${options.originOfflineAlarmMinutes} minutes: clients get cached files and the last repository snapshots, nothing new. See the while-the-origin-was-down query.`,
    metric: new cloudwatch.Metric({
      namespace,
      metricName: 'OriginAssumedOffline',
      statistic: 'Sum',
      period: Duration.minutes(1),
      dimensionsMap: { service },
    }),
    threshold: 1,
    evaluationPeriods: options.originOfflineAlarmMinutes,
    datapointsToAlarm: options.originOfflineAlarmMinutes,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  const failedUploadsAlarm = new cloudwatch.Alarm(scope, 'FailedUploadsAlarm', {
    alarmDescription: 'Uploads failed every retry; their events wait in the failed-uploads queue.',
    metric: options.failedUploads.metricApproximateNumberOfMessagesVisible({ period: PERIOD }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });

  const mirrorDeadLettersAlarm =
    options.mirror === undefined
      ? undefined
      : new cloudwatch.Alarm(scope, 'MirrorDeadLettersAlarm', {
          alarmDescription: `Files of mirrorRepositories could not be mirrored after ${options.mirror.maxReceiveCount} tries; their messages wait in the mirror dead-letter queue. The uploader's logs name each path: fix the cause, then redrive the queue (console, or aws sqs start-message-move-task).`,
          metric: options.mirror.deadLetters.metricApproximateNumberOfMessagesVisible({ period: PERIOD }),
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        });
  const alarms = [
    fallbackAlarm,
    corruptAlarm,
    failedUploadsAlarm,
    originOfflineAlarm,
    ...(mirrorDeadLettersAlarm === undefined ? [] : [mirrorDeadLettersAlarm]),
  ];

  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', {
    defaultInterval: Duration.days(1),
    widgets: [
      [
        new cloudwatch.GraphWidget({
          title: 'Requests by outcome (X-Cache)',
          left: REQUEST_OUTCOMES.map(requests),
          stacked: true,
          width: 12,
        }),
        new cloudwatch.GraphWidget({
          title: 'Hit ratio and cached share of cacheable requests',
          left: [hitRatio, cachedRatio],
          leftYAxis: { min: 0, max: 100, label: '%', showUnits: false },
          width: 12,
        }),
      ],
      [
        new cloudwatch.GraphWidget({ title: 'Misses', left: [requests('miss')], width: 8 }),
        new cloudwatch.GraphWidget({
          title: 'Fallbacks by cause',
          left: [
            new cloudwatch.MathExpression({
              expression: `SEARCH('{${namespace},service,Cause} MetricName="Fallbacks"', 'Sum', 300)`,
              label: '',
              period: PERIOD,
            }),
          ],
          width: 8,
        }),
        new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 8 }),
      ],
      [
        new cloudwatch.GraphWidget({
          title: 'Uploads by outcome',
          left: UPLOAD_OUTCOMES.map(uploads),
          stacked: true,
          width: 8,
        }),
        new cloudwatch.GraphWidget({
          title: 'Bytes stored',
          left: [metric('BytesStored', 'Sum', {}, 'bytes stored')],
          width: 8,
        }),
        new cloudwatch.GraphWidget({
          title: 'Origin HEAD latency',
          left: [metric('OriginHeadLatency', 'p50', {}, 'p50'), metric('OriginHeadLatency', 'p99', {}, 'p99')],
          width: 8,
        }),
      ],
      [
        new cloudwatch.GraphWidget({
          title: 'Outage: answered from the cache, and with the origin assumed offline',
          left: [
            ...STALE_REASONS.map((reason) => metric('StaleAnswers', 'Sum', { Reason: reason }, `stale: ${reason}`)),
            metric('OriginAssumedOffline', 'Sum', {}, 'origin assumed offline'),
          ],
          width: 12,
        }),
        new cloudwatch.GraphWidget({
          title: 'Repository snapshots by outcome',
          left: SNAPSHOT_OUTCOMES.map((outcome) => metric('Snapshots', 'Sum', { Outcome: outcome }, outcome)),
          stacked: true,
          width: 12,
        }),
      ],
      [
        new cloudwatch.GraphWidget({
          title: 'Time travel answers by outcome',
          left: TIME_TRAVEL_OUTCOMES.map((outcome) =>
            metric('TimeTravelAnswers', 'Sum', { Outcome: outcome }, outcome),
          ),
          stacked: true,
          width: 24,
        }),
      ],
    ],
  });
  return { dashboard, alarms };
};
