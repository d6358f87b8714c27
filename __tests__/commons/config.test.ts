import { ConfigError, parseCacheConfig, parseHandlerConfig } from '../../src/commons/config.js';

const minimal = { S3_BUCKET_NAME: 'rpm-cache-bucket' };

describe('parseCacheConfig', () => {
  it('applies the documented defaults when only the bucket is set', () => {
    const config = parseCacheConfig(minimal);

    expect(config).toEqual({
      originBaseUrl: 'https://dl.fedoraproject.org',
      origins: [],
      bucketName: 'rpm-cache-bucket',
      cacheExtensions: ['.rpm'],
      presignedUrlExpirationSeconds: 3600,
      originHeadTimeoutMs: 5000,
      sentryDsn: undefined,
      deploymentEnvironment: undefined,
      snapshotHistoryDays: 90,
      uploadRefusalTtlMs: 86_400_000,
      rescueTemplates: [],
    });
  });

  it('returns a frozen object whose extension list is frozen too', () => {
    const config = parseCacheConfig(minimal);

    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.cacheExtensions)).toBe(true);
  });

  it('reads every variable', () => {
    const config = parseCacheConfig({
      ...minimal,
      ORIGIN_HOST: 'http://127.0.0.1:8081/',
      CACHE_EXTENSIONS: ' .rpm  .drpm\t.iso ',
      PRESIGNED_URL_EXPIRATION: '600',
      ORIGIN_HEAD_TIMEOUT: '0.25',
      SENTRY_DSN: 'https://key@sentry.example/1',
      CKI_DEPLOYMENT_ENVIRONMENT: 'production',
      SNAPSHOT_HISTORY_DAYS: '30',
      UPLOAD_REFUSAL_TTL: '3600',
      RESCUE_URLS:
        'https://archive.example/{first}/{file}  https://koji.example/{source_name}/{version}/{release}/{arch}/{file}',
    });

    expect(config).toEqual({
      originBaseUrl: 'http://127.0.0.1:8081',
      origins: [],
      bucketName: 'rpm-cache-bucket',
      cacheExtensions: ['.rpm', '.drpm', '.iso'],
      presignedUrlExpirationSeconds: 600,
      originHeadTimeoutMs: 250,
      sentryDsn: 'https://key@sentry.example/1',
      deploymentEnvironment: 'production',
      snapshotHistoryDays: 30,
      uploadRefusalTtlMs: 3_600_000,
      rescueTemplates: [
        'https://archive.example/{first}/{file}',
        'https://koji.example/{source_name}/{version}/{release}/{arch}/{file}',
      ],
    });
  });

  it.each([
    ['dl.fedoraproject.org', 'https://dl.fedoraproject.org'],
    ['mirror.example:8443', 'https://mirror.example:8443'],
    ['https://mirror.example/pub/fedora/', 'https://mirror.example/pub/fedora'],
    ['HTTP://Mirror.Example', 'http://mirror.example'],
  ])('turns ORIGIN_HOST %s into the base URL %s', (value, expected) => {
    expect(parseCacheConfig({ ...minimal, ORIGIN_HOST: value }).originBaseUrl).toBe(expected);
  });

  it.each(['', '   ', '\t'])('treats a blank CACHE_EXTENSIONS (%j) as unset: .rpm', (value) => {
    expect(parseCacheConfig({ ...minimal, CACHE_EXTENSIONS: value }).cacheExtensions).toEqual(['.rpm']);
  });

  it.each([
    'https://user:secret@mirror.example',
    'https://user:secret@mirror.example/?a=b',
    'ftp://user:secret@mirror.example',
    'https://:secret@mirror.example',
  ])('refuses ORIGIN_HOST %j with credentials without printing them', (value) => {
    const parse = () => parseCacheConfig({ ...minimal, ORIGIN_HOST: value });

    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(/^ORIGIN_HOST="\w+:\/\/\*\*\*@mirror\.example/);
    expect(parse).not.toThrow(/secret|user/);
  });

  it.each([
    ['not-a-dsn', /^SENTRY_DSN is invalid: not a URL \(value hidden/],
    [
      'ftp://abc123@o1.ingest.sentry.io/42',
      /^SENTRY_DSN="ftp:\/\/\*\*\*@o1\.ingest\.sentry\.io\/42" is invalid: expected an http\(s\) URL/,
    ],
    ['https://o1.ingest.sentry.io/42', /expected the public key before the host/],
    ['https://abc123@o1.ingest.sentry.io/', /expected the project id/],
    ['https://abc123@o1.ingest.sentry.io/project', /expected the project id/],
    ['https://abc123@o1.ingest.sentry.io/42?x=1', /no query or fragment/],
  ])('refuses SENTRY_DSN %j, naming the variable and hiding the key', (value, message) => {
    const parse = () => parseCacheConfig({ ...minimal, SENTRY_DSN: value });

    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(message);
    expect(parse).not.toThrow(/abc123/);
  });

  it.each(['https://abc123@o1.ingest.sentry.io/42', 'http://abc:def@127.0.0.1:9000/sentry/7'])(
    'accepts the Sentry DSN %s',
    (value) => {
      expect(parseCacheConfig({ ...minimal, SENTRY_DSN: value }).sentryDsn).toBe(value);
    },
  );

  it('treats blank optional variables as unset', () => {
    const config = parseCacheConfig({ ...minimal, ORIGIN_HOST: ' ', SENTRY_DSN: '', ORIGIN_HEAD_TIMEOUT: '' });

    expect(config.originBaseUrl).toBe('https://dl.fedoraproject.org');
    expect(config.sentryDsn).toBeUndefined();
    expect(config.originHeadTimeoutMs).toBe(5000);
  });

  it('names the missing bucket variable', () => {
    expect(() => parseCacheConfig({})).toThrow(new ConfigError('S3_BUCKET_NAME is required but not set'));
  });

  it.each([
    ['ORIGIN_HOST', 'dl.fedoraproject.org/pub', 'expected a host name (dl.fedoraproject.org) or a base URL'],
    ['ORIGIN_HOST', 'ftp://mirror.example', 'only http and https origins are supported'],
    ['ORIGIN_HOST', 'https://mirror.example/?a=b', 'a base URL cannot carry a query or fragment'],
    ['ORIGIN_HOST', 'https://mirror.example/#top', 'a base URL cannot carry a query or fragment'],
    ['ORIGIN_HOST', 'https://mirror.example/?', 'a base URL cannot carry a query or fragment'],
    ['ORIGIN_HOST', 'https://mirror.example/#', 'a base URL cannot carry a query or fragment'],
    ['ORIGIN_HOST', 'http://', 'not a URL'],
    ['ORIGIN_HOST', 'evil.example\r\nX: y', 'expected a host name'],
    ['CACHE_EXTENSIONS', 'rpm', '"rpm" must start with a dot and contain no slash'],
    ['CACHE_EXTENSIONS', '.rpm ./x', '"./x" must start with a dot and contain no slash'],
    ['CACHE_EXTENSIONS', '.rpm .a\\b', 'must start with a dot and contain no slash'],
    ['CACHE_EXTENSIONS', '.rpm x.rpm', '"x.rpm" must start with a dot'],
    ['PRESIGNED_URL_EXPIRATION', '-1', 'expected a positive whole number of seconds'],
    ['PRESIGNED_URL_EXPIRATION', '0', 'must be greater than 0 and at most 604800'],
    ['PRESIGNED_URL_EXPIRATION', '1.5', 'expected a positive whole number of seconds'],
    ['PRESIGNED_URL_EXPIRATION', 'an hour', 'expected a positive whole number of seconds'],
    ['PRESIGNED_URL_EXPIRATION', '604801', 'must be greater than 0 and at most 604800'],
    ['ORIGIN_HEAD_TIMEOUT', 'five', 'expected a positive number of seconds'],
    ['ORIGIN_HEAD_TIMEOUT', '-2', 'expected a positive number of seconds'],
    ['ORIGIN_HEAD_TIMEOUT', '0', 'must be greater than 0 and at most 25'],
    ['ORIGIN_HEAD_TIMEOUT', '1e3', 'expected a positive number of seconds'],
    ['ORIGIN_HEAD_TIMEOUT', 'Infinity', 'expected a positive number of seconds'],
    ['ORIGIN_HEAD_TIMEOUT', '26', 'must be greater than 0 and at most 25'],
  ])('rejects %s=%j with an error naming the variable, the value and why', (variable, value, why) => {
    const parse = () => parseCacheConfig({ ...minimal, [variable]: value });

    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(
      `${variable}=${JSON.stringify(value.trim())} is invalid: ${why}`.slice(0, 2000).split(why)[0] ?? '',
    );
    expect(parse).toThrow(why);
  });

  it.each([
    ['PRESIGNED_URL_EXPIRATION', '604800', 'presignedUrlExpirationSeconds', 604_800],
    ['ORIGIN_HEAD_TIMEOUT', '25', 'originHeadTimeoutMs', 25_000],
    ['ORIGIN_HEAD_TIMEOUT', '.5', 'originHeadTimeoutMs', 500],
  ] as const)('accepts %s=%s, the largest or smallest value allowed', (variable, value, key, expected) => {
    expect(parseCacheConfig({ ...minimal, [variable]: value })[key]).toBe(expected);
  });

  it('keeps the origin error as the cause, and names the error class', () => {
    let error: unknown;
    try {
      parseCacheConfig({ ...minimal, ORIGIN_HOST: 'http://' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).name).toBe('ConfigError');
    expect((error as Error).cause).toMatchObject({ code: 'ERR_INVALID_URL' });
  });

  it.each([
    ['https://mirror.example/fedora///', 'https://mirror.example/fedora'],
    ['mirror.example', 'https://mirror.example'],
  ])('trims every trailing slash of %s', (value, expected) => {
    expect(parseCacheConfig({ ...minimal, ORIGIN_HOST: value }).originBaseUrl).toBe(expected);
  });

  it('splits CACHE_EXTENSIONS on any run of whitespace and drops duplicates', () => {
    expect(parseCacheConfig({ ...minimal, CACHE_EXTENSIONS: '.rpm\t\t.drpm  .rpm\n.iso' }).cacheExtensions).toEqual([
      '.rpm',
      '.drpm',
      '.iso',
    ]);
  });
});

describe('parseHandlerConfig', () => {
  it('requires the uploader function and names it when missing', () => {
    expect(() => parseHandlerConfig(minimal)).toThrow(new ConfigError('UPLOADER_LAMBDA_ARN is required but not set'));
  });

  it('adds the uploader function to the shared config', () => {
    const config = parseHandlerConfig({ ...minimal, UPLOADER_LAMBDA_ARN: 'rpm-cache-uploader' });

    expect(config.uploaderFunctionName).toBe('rpm-cache-uploader');
    expect(config.bucketName).toBe('rpm-cache-bucket');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('defaults the assumed-offline period to 300 s and the lost-file memory to an hour', () => {
    const config = parseHandlerConfig({ ...minimal, UPLOADER_LAMBDA_ARN: 'u' });

    expect(config.originOfflinePeriodMs).toBe(300_000);
    expect(config.originLostTtlMs).toBe(3_600_000);
    expect(config.metalinkAnswerTtlMs).toBe(60_000);
  });

  it.each([
    ['ORIGIN_OFFLINE_PERIOD', '60', 'originOfflinePeriodMs', 60_000],
    ['ORIGIN_OFFLINE_PERIOD', '0', 'originOfflinePeriodMs', 0],
    ['ORIGIN_LOST_TTL', '86400', 'originLostTtlMs', 86_400_000],
    ['ORIGIN_LOST_TTL', '0', 'originLostTtlMs', 0],
    ['METALINK_ANSWER_TTL', '0', 'metalinkAnswerTtlMs', 0],
    ['METALINK_ANSWER_TTL', '300', 'metalinkAnswerTtlMs', 300_000],
    ['SNAPSHOT_HISTORY_DAYS', '0', 'snapshotHistoryDays', 0],
    ['SNAPSHOT_HISTORY_DAYS', '365', 'snapshotHistoryDays', 365],
    ['UPLOAD_REFUSAL_TTL', '0', 'uploadRefusalTtlMs', 0],
    ['UPLOAD_REFUSAL_TTL', '604800', 'uploadRefusalTtlMs', 604_800_000],
  ] as const)('reads %s=%s (0 turns it off)', (variable, value, field, expected) => {
    expect(parseHandlerConfig({ ...minimal, UPLOADER_LAMBDA_ARN: 'u', [variable]: value })[field]).toBe(expected);
  });

  it.each([
    ['ORIGIN_OFFLINE_PERIOD', '-1', 'expected a whole number of seconds'],
    ['ORIGIN_OFFLINE_PERIOD', '1.5', 'expected a whole number of seconds'],
    ['ORIGIN_LOST_TTL', '86401', 'must be 0 (off) or greater, and at most 86400'],
    ['ORIGIN_LOST_TTL', 'an hour', 'expected a whole number of seconds'],
    ['METALINK_ANSWER_TTL', 'a minute', 'expected a whole number of seconds'],
    ['SNAPSHOT_HISTORY_DAYS', '-1', 'expected a whole number of days, 0 (for ever) to 36500'],
    ['SNAPSHOT_HISTORY_DAYS', '36501', 'expected a whole number of days, 0 (for ever) to 36500'],
    ['SNAPSHOT_HISTORY_DAYS', 'a quarter', 'expected a whole number of days, 0 (for ever) to 36500'],
    ['UPLOAD_REFUSAL_TTL', '604801', 'must be 0 (off) or greater, and at most 604800'],
    ['UPLOAD_REFUSAL_TTL', 'a day', 'expected a whole number of seconds'],
  ])('refuses %s=%s, naming it', (variable, value, why) => {
    expect(() => parseHandlerConfig({ ...minimal, UPLOADER_LAMBDA_ARN: 'u', [variable]: value })).toThrow(
      new ConfigError(`${variable}=${JSON.stringify(value)} is invalid: ${why}`),
    );
  });

  it('leaves the metalink and mirror list services unanswered by default', () => {
    expect(parseHandlerConfig({ ...minimal, UPLOADER_LAMBDA_ARN: 'u' })).toMatchObject({
      metalinkUrl: undefined,
      mirrorlistUrl: undefined,
    });
  });

  it.each([
    ['https://mirrors.fedoraproject.org/metalink', 'https://mirrors.fedoraproject.org/mirrorlist'],
    ['http://127.0.0.1:8082/metalink/', 'http://127.0.0.1:8082/mirrorlist'],
    ['https://mm.example/mirrormanager/metalink', 'https://mm.example/mirrormanager/mirrorlist'],
    ['https://mm.example/ml', undefined],
  ])('reads METALINK_URL=%s, with the mirror list beside it (%s)', (value, mirrorlist) => {
    const config = parseHandlerConfig({ ...minimal, UPLOADER_LAMBDA_ARN: 'u', METALINK_URL: value });

    expect(config.metalinkUrl).toBe(value.replace(/\/$/, ''));
    expect(config.mirrorlistUrl).toBe(mirrorlist);
  });

  it.each([
    ['mirrors.fedoraproject.org/metalink', 'not a URL'],
    ['ftp://mirrors.example/metalink', 'only http and https metalink services are supported'],
    ['https://user:pw@mirrors.example/metalink', 'credentials in the metalink service URL would leak into the logs'],
    ['https://mirrors.example/metalink?repo=x', 'a base URL cannot carry a query or fragment'],
  ])('refuses METALINK_URL=%s, naming it, its credentials hidden', (value, why) => {
    expect(() => parseHandlerConfig({ ...minimal, UPLOADER_LAMBDA_ARN: 'u', METALINK_URL: value })).toThrow(
      `METALINK_URL=${JSON.stringify(value.replace('user:pw@', '***@'))} is invalid: ${why}`,
    );
  });
});
