import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/**
 * The API Gateway HTTP API (payload 2.0) event for `GET /<path>` on route
 * `/{path+}`. `path` is given decoded, as API Gateway passes it on.
 */
export const httpApiEvent = (
  path: string | undefined,
  overrides: Partial<APIGatewayProxyEventV2> = {},
): APIGatewayProxyEventV2 => ({
  version: '2.0',
  routeKey: 'GET /{path+}',
  rawPath: `/${path ?? ''}`,
  rawQueryString: '',
  headers: { host: 'rpm-cache.example.org', 'user-agent': 'libdnf (Fedora Linux 44; generic; Linux.x86_64)' },
  requestContext: {
    accountId: '123456789012',
    apiId: 'api-id',
    domainName: 'rpm-cache.example.org',
    domainPrefix: 'rpm-cache',
    http: {
      method: 'GET',
      path: `/${path ?? ''}`,
      protocol: 'HTTP/1.1',
      sourceIp: '192.0.2.1',
      userAgent: 'libdnf',
    },
    requestId: 'request-id',
    routeKey: 'GET /{path+}',
    stage: '$default',
    time: '28/Nov/2026:07:00:00 +0000',
    timeEpoch: 1_795_849_200_000,
  },
  isBase64Encoded: false,
  ...(path === undefined ? {} : { pathParameters: { path } }),
  ...overrides,
});
