/** The s3rver the local stack embeds, started plainly (no conditional-write proxy) by tests that need a second store. */
export { S3RVER_CREDENTIALS, startS3rver } from '../../src/local/s3-server.js';
