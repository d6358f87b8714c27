/**
 * The cache's own base URL, as the client reached it: what a rewritten
 * metalink or mirror list names as the repository's mirror.
 *
 * The host is `requestContext.domainName` (the API's or the Function URL's
 * domain, or a custom domain's: the name the client used), else the `Host`
 * header; the scheme is `X-Forwarded-Proto`, which API Gateway and Function
 * URLs set (both serve HTTPS only; the local stack sets `http`), else
 * `https`. A named HTTP API stage is part of the path, as in the client's
 * URL; rpm-cache deploys on `$default`, which adds nothing.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/** What the base URL is read from. */
export interface PublicUrlEvent {
  readonly headers?: APIGatewayProxyEventV2['headers'];
  readonly requestContext?: { readonly domainName?: string; readonly stage?: string };
}

/** A host name or IPv4 address with an optional port, or a bracketed IPv6 address with one. */
const HOST = /^([a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(:\d{1,5})?$/i;

/**
 * The base URL (no trailing slash) clients reach this cache at, or undefined
 * when the event names no usable host.
 *
 * @example
 * publicBaseUrl({ requestContext: { domainName: 'abc.execute-api.eu-west-1.amazonaws.com', stage: '$default' } })
 * // 'https://abc.execute-api.eu-west-1.amazonaws.com'
 */
export const publicBaseUrl = ({ headers, requestContext }: PublicUrlEvent): string | undefined => {
  const host = requestContext?.domainName ?? headers?.host;
  if (host === undefined || !HOST.test(host)) return undefined;
  const forwarded = headers?.['x-forwarded-proto']?.split(',')[0]?.trim().toLowerCase();
  const scheme = forwarded === 'http' ? 'http' : 'https';
  const stage = requestContext?.stage;
  const prefix = stage === undefined || stage === '$default' || stage === '' ? '' : `/${encodeURIComponent(stage)}`;
  return `${scheme}://${host.toLowerCase()}${prefix}`;
};
