import { Readable } from 'node:stream';
import { LambdaServiceException } from '@aws-sdk/client-lambda';
import { NotFound, S3ServiceException } from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/util-stream';

/** What HeadObject throws for a missing key. */
export const notFound = () => new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } });

/** An S3 error as the SDK throws it for `status`. */
export const s3Error = (name: string, status: number) =>
  new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    message: name,
    $metadata: { httpStatusCode: status },
  });

export const lambdaError = (name: string, status: number) =>
  new LambdaServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    message: name,
    $metadata: { httpStatusCode: status },
  });

/** A GetObject body holding `text`, as the SDK gives it (a stream with transformToString and friends). */
export const objectBody = (text: string | Buffer) => sdkStreamMixin(Readable.from([Buffer.from(text)]));
