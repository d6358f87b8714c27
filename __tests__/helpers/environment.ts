// Every test runs with fake credentials and a fixed region: no test may reach AWS.
process.env.AWS_REGION = 'eu-west-1';
process.env.AWS_ACCESS_KEY_ID = 'AKIATESTTESTTESTTEST';
process.env.AWS_SECRET_ACCESS_KEY = 'test-secret-key-that-must-never-be-logged';
delete process.env.AWS_SESSION_TOKEN;
delete process.env.AWS_PROFILE;
delete process.env.AWS_ENDPOINT_URL_S3;
delete process.env.AWS_ENDPOINT_URL_LAMBDA;
delete process.env.AWS_ENDPOINT_URL_SQS;
delete process.env.MIRROR_QUEUE_URL;
delete process.env.SENTRY_DSN;
delete process.env.POWERTOOLS_DEV;
