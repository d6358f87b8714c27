/** The bare SDK the uploader needs, created as the uploader creates it: the cold-start reference. */
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

export const s3 = new S3Client({});
export const upload = Upload;
