/**
 * Attacks on issue 27 (metalink answered by the cache). Each `it` states the
 * property that SHOULD hold; a failing test is a finding.
 */
import { readFileSync } from 'node:fs';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { parseHandlerConfig } from '../../src/commons/config.js';
import { answerMirrorService, mirrorServiceOf } from '../../src/handler/metalink/answer.js';
import { LastRepositories } from '../../src/handler/metalink/last-repository.js';
import { parseMetalink } from '../../src/handler/metalink/metalink-xml.js';
import { UpstreamMemo } from '../../src/handler/metalink/upstream-memo.js';
import { objectBody } from '../helpers/aws.js';

const FIXTURE = readFileSync('__tests__/fixtures/metalink/updates-released-f44-x86_64.xml', 'utf8');
const F44 = 'pub/fedora/linux/updates/44/Everything/x86_64/';
const RAWHIDE = 'pub/fedora/linux/development/rawhide/Everything/x86_64/os/';
const CACHE = 'https://cache.example';

/** A stand-in for Fedora's mirrorlist-server (Rust): query parsed into a HashMap, so a repeated key's LAST value wins. */
const fakeService =
  (status = 200) =>
  async (url: string): Promise<Response> => {
    const params = new Map(new URL(url).searchParams);
    const repo = params.get('repo');
    if (repo === 'rawhide') {
      const body = FIXTURE.replaceAll('updates/44/Everything/x86_64/', 'development/rawhide/Everything/x86_64/os/');
      return new Response(body, { status, headers: { 'content-type': 'application/metalink+xml' } });
    }
    if (repo === 'updates-released-f44') {
      return new Response(FIXTURE, { status, headers: { 'content-type': 'application/metalink+xml' } });
    }
    return new Response('<?xml version="1.0"?><!-- # repo = x arch = y error: invalid repo or arch -->', {
      status: 404,
    });
  };

describe('attack: metalink', () => {
  const s3Mock = mockClient(S3Client);
  const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' } });
  const puts: { Key?: string; Body?: unknown }[] = [];
  const config = parseHandlerConfig({
    S3_BUCKET_NAME: 'rpm-cache-bucket',
    UPLOADER_LAMBDA_ARN: 'rpm-cache-uploader',
    ORIGIN_HOST: 'https://dl.fedoraproject.org',
    ORIGIN_HEAD_TIMEOUT: '0.5',
    METALINK_URL: 'https://mirrors.example/metalink',
  });
  const named = mirrorServiceOf('metalink', config);
  if (named === undefined) throw new Error('metalink not answered');

  beforeEach(() => {
    puts.length = 0;
    s3Mock.reset();
    s3Mock.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }));
    s3Mock.on(PutObjectCommand).callsFake((input: { Key?: string; Body?: unknown }) => {
      puts.push(input);
      return {};
    });
  });

  const ask = (query: string, fetchUpstream: (url: string) => Promise<Response>, memo = new UpstreamMemo()) =>
    answerMirrorService(
      named,
      { config, s3, lastRepositories: new LastRepositories(s3, 'rpm-cache-bucket'), memo, fetchUpstream },
      { query, publicUrl: CACHE },
    );

  it('one client cannot record, for updates-released-f44/x86_64, a repository the service answered for another repo (repeated repo=)', async () => {
    const answer = await ask('repo=updates-released-f44&arch=x86_64&repo=rawhide', fakeService());
    expect(answer.outcome).toBe('rewritten');
    expect(answer.facts.repository).toBe(RAWHIDE);
    // The mapping the whole deployment uses when the service is down:
    const written = puts.find((put) => put.Key === 'metalink/updates-released-f44/x86_64.json');
    // SHOULD: nothing recorded under f44 for an answer about rawhide (or the query refused / canonicalised)
    expect(written).toBeUndefined();
  });

  it('a made-up repo never reaches S3 (docs/metalink.md, last-repository.ts:11)', async () => {
    const made = `made-up-${Date.now()}`;
    await ask(`repo=${made}&arch=x86_64&repo=updates-released-f44`, fakeService());
    // SHOULD: no object keyed by a name the service never answered for
    expect(puts.map((put) => put.Key)).not.toContain(`metalink/${made}/x86_64.json`);
  });

  it("the service's 429 (rate limit: every client comes from the cache's few addresses) is a failure, answered from the snapshot mapping, not passed through and kept for a minute", async () => {
    s3Mock.on(GetObjectCommand, { Key: 'metalink/updates-released-f44/x86_64.json' }).callsFake(() => ({
      Body: objectBody(JSON.stringify({ repository: F44, recordedAt: 'then' })),
    }));
    const memo = new UpstreamMemo();
    const rateLimited = async () => new Response('Too Many Requests', { status: 429 });
    const answer = await ask('repo=updates-released-f44&arch=x86_64', rateLimited, memo);
    // SHOULD: not a pass-through of the 429 (dnf fails) when a mapping exists
    expect(answer.outcome).not.toBe('passed-through');
    // SHOULD at least: a 429 is not kept for 60 s for every other client of this container
    expect(memo.get(named.upstream, 'repo=updates-released-f44&arch=x86_64')).toBeUndefined();
  });

  it('the rewritten metalink is still parseable after an upstream with hostile text (CDATA, quotes, entities)', async () => {
    const hostile = FIXTURE.replace(
      /<url([^>]*)>https:\/\/dl\.fedoraproject\.org/,
      '<url$1 location="&quot;&gt;&lt;x y=&apos;"><![CDATA[https://dl.fedoraproject.org]]>',
    );
    const answer = await ask('repo=updates-released-f44&arch=x86_64', async () => new Response(hostile));
    expect(answer.outcome).toBe('rewritten');
    const parsed = await parseMetalink(String(answer.response.body));
    expect(parsed?.urls).toHaveLength(1);
  });
});

describe('attack: metalink mapping with several origins', () => {
  const s3Mock = mockClient(S3Client);
  const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' } });
  const config = parseHandlerConfig({
    S3_BUCKET_NAME: 'rpm-cache-bucket',
    UPLOADER_LAMBDA_ARN: 'rpm-cache-uploader',
    ORIGIN_HOST: 'https://dl.fedoraproject.org',
    ORIGINS: 'fau=https://ftp.fau.de/fedora/linux',
    ORIGIN_HEAD_TIMEOUT: '0.5',
    METALINK_URL: 'https://mirrors.example/metalink',
  });
  const named = mirrorServiceOf('metalink', config);
  if (named === undefined) throw new Error('metalink not answered');

  beforeEach(() => {
    s3Mock.reset();
    s3Mock.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }));
    s3Mock.on(PutObjectCommand).resolves({});
  });

  it('takes the repository under the first configured origin the service lists, whatever the preferences say', async () => {
    const answer = await answerMirrorService(
      named,
      {
        config,
        s3,
        memo: new UpstreamMemo(),
        lastRepositories: new LastRepositories(s3, config.bucketName),
        // fau ranked below dl.fedoraproject.org by the service: the configured order decides all the same.
        fetchUpstream: async () =>
          new Response(FIXTURE.replaceAll('location="DE" preference="100"', 'location="DE" preference="1"')),
      },
      { query: 'repo=updates-released-f44&arch=x86_64', publicUrl: 'https://cache.example' },
    );
    expect(answer.facts.repository).toBe('fau/updates/44/Everything/x86_64/');
  });
});
