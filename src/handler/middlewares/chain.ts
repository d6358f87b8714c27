/**
 * The types of the handler's Middy chain, named once: its middlewares and
 * their hooks take an API Gateway v2 event, answer with an HTTP result, and
 * find the validated path in the context.
 */
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import type { CachePathContext } from '../../commons/cache-path.js';

export type HandlerMiddleware = MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, CachePathContext>;
export type HandlerBefore = NonNullable<HandlerMiddleware['before']>;
export type HandlerOnError = NonNullable<HandlerMiddleware['onError']>;
