/**
 * CloudWatch Logs Insights queries for operating rpm-cache, saved in the
 * stack (Logs Insights > Saved queries) and shown in docs/operations.md. Each names
 * the log fields it relies on and their type; a test runs the real Lambdas
 * and checks that their log lines carry those fields with those types.
 */

export type FieldType = 'string' | 'number' | 'boolean';

export interface LogQuery {
  /** Saved-query name (the stack prefixes it with the stack name). */
  readonly name: string;
  /** What it answers. */
  readonly question: string;
  /** `request` queries read the handler's log group, `upload` the uploader's (uploads and snapshots), `both` both. */
  readonly logGroups: 'request' | 'upload' | 'both';
  /** The lines (by `message` and `outcome`) the query reads, and the fields it uses on them. */
  readonly reads: readonly {
    readonly message: 'request' | 'upload' | 'snapshot' | 'time travel';
    readonly outcomes: readonly string[];
    readonly fields: Readonly<Record<string, FieldType>>;
  }[];
  readonly query: string;
}

const CACHEABLE = ['hit', 'stored', 'miss'];

export const LOG_QUERIES: readonly LogQuery[] = [
  {
    name: 'hit-ratio-per-day',
    question:
      'Per day: cacheable requests, how many were served from the cache (hit), the hit ratio, and the share that found a copy (hit or stored)',
    logGroups: 'request',
    reads: [{ message: 'request', outcomes: CACHEABLE, fields: { message: 'string', outcome: 'string' } }],
    query: [
      'filter message = "request" and outcome in ["hit", "stored", "miss"]',
      '| fields strcontains(outcome, "hit") as isHit, strcontains(outcome, "hit") + strcontains(outcome, "stored") as isCached',
      '| stats count(*) as cacheable, sum(isHit) as hits, avg(isHit) as hitRatio, avg(isCached) as cachedRatio by bin(1d)',
    ].join('\n'),
  },
  {
    name: 'top-rpms-served-from-cache',
    question: 'Which files clients got from the cache because the mirror no longer serves them',
    logGroups: 'request',
    reads: [
      { message: 'request', outcomes: ['hit'], fields: { message: 'string', outcome: 'string', path: 'string' } },
    ],
    query: [
      'filter message = "request" and outcome = "hit"',
      '| stats count(*) as hits by path',
      '| sort hits desc',
      '| limit 50',
    ].join('\n'),
  },
  {
    name: 'fallbacks-by-cause',
    question: 'Why requests fell back to the origin (S3 or Lambda errors), by error and HTTP status',
    logGroups: 'request',
    reads: [
      {
        message: 'request',
        outcomes: ['fallback'],
        fields: { message: 'string', outcome: 'string', 'error.name': 'string', errorStatus: 'number' },
      },
    ],
    query: [
      'filter message = "request" and outcome = "fallback"',
      '| stats count(*) as fallbacks by error.name, errorStatus',
      '| sort fallbacks desc',
    ].join('\n'),
  },
  {
    name: 'uploader-failures-and-corrupt-downloads',
    question: 'Uploads that failed (retried by Lambda) or were refused as corrupt, newest first',
    logGroups: 'upload',
    reads: [
      {
        message: 'upload',
        outcomes: ['failed'],
        fields: {
          message: 'string',
          outcome: 'string',
          path: 'string',
          'error.name': 'string',
          'error.message': 'string',
        },
      },
      {
        message: 'upload',
        outcomes: ['corrupt'],
        fields: { message: 'string', outcome: 'string', path: 'string', reason: 'string' },
      },
    ],
    query: [
      'filter message = "upload" and outcome in ["failed", "corrupt"]',
      '| fields @timestamp, outcome, path, reason, error.name, error.message',
      '| sort @timestamp desc',
      '| limit 100',
    ].join('\n'),
  },
  {
    name: 'slowest-origin-heads',
    question: 'The slowest origin HEADs, with what the origin answered',
    logGroups: 'request',
    reads: [
      {
        message: 'request',
        outcomes: CACHEABLE,
        fields: { message: 'string', originHeadMs: 'number', path: 'string', durationMs: 'number', outcome: 'string' },
      },
    ],
    query: [
      'filter message = "request" and ispresent(originHeadMs)',
      '| fields @timestamp, originHeadMs, originStatus, durationMs, outcome, path',
      '| sort originHeadMs desc',
      '| limit 50',
    ].join('\n'),
  },
  {
    name: 'follow-one-request',
    question:
      "One request across both functions: replace REQUEST_ID with the handler line's function_request_id; the upload it triggered carries it as triggeredBy",
    logGroups: 'both',
    reads: [
      { message: 'request', outcomes: ['miss'], fields: { function_request_id: 'string', function_name: 'string' } },
      {
        message: 'upload',
        outcomes: ['stored'],
        fields: { triggeredBy: 'string', function_request_id: 'string', function_name: 'string' },
      },
    ],
    query: [
      'filter function_request_id = "REQUEST_ID" or triggeredBy = "REQUEST_ID"',
      '| fields @timestamp, function_name, message, outcome, path, originStatus, bytes, durationMs',
      '| sort @timestamp asc',
    ].join('\n'),
  },
  {
    name: 'while-the-origin-was-down',
    question:
      'What clients got while the origin could not serve (timeouts, refused connections, 5xx, assumed offline, files it lost): per 5 minutes and outcome (hit/stale: from the cache; miss: sent to the failing origin)',
    logGroups: 'request',
    reads: [
      {
        message: 'request',
        outcomes: ['hit', 'stale', 'miss'],
        fields: { message: 'string', outcome: 'string', path: 'string' },
      },
    ],
    query: [
      'filter message = "request" and (originStatus in ["timeout", "unreachable", "assumed-offline", "lost"] or originStatus >= 500)',
      '| stats count(*) as requests, count_distinct(path) as files by bin(5m), outcome',
    ].join('\n'),
  },
  {
    name: 'repository-snapshots',
    question:
      'Repository snapshots taken, and the ones that could not be completed (a mirror mid-sync) with the reason, newest first',
    logGroups: 'upload',
    reads: [
      {
        message: 'snapshot',
        outcomes: ['stored'],
        fields: {
          message: 'string',
          outcome: 'string',
          path: 'string',
          snapshotId: 'string',
          files: 'number',
          bytes: 'number',
        },
      },
    ],
    query: [
      'filter message = "snapshot"',
      '| fields @timestamp, outcome, path, snapshotId, files, bytes, reason',
      '| sort @timestamp desc',
      '| limit 100',
    ].join('\n'),
  },
  {
    name: 'time-travel-answers',
    question:
      'Answers under /@<time>/ by outcome and repository: how much the history is used, and who asks for times it does not hold',
    logGroups: 'request',
    reads: [
      {
        message: 'time travel',
        outcomes: ['future', 'before-history', 'listed'],
        fields: { message: 'string', outcome: 'string', repository: 'string' },
      },
    ],
    query: [
      'filter message = "time travel"',
      '| stats count(*) as answers by outcome, repository',
      '| sort answers desc',
    ].join('\n'),
  },
];
