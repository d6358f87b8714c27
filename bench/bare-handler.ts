/** The bare SDK the handler needs, created as the handler creates it: the cold-start reference. */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

export const s3 = new S3Client({});
export const lambda = new LambdaClient({});
export const presign = getSignedUrl;
