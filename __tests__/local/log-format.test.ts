import { Writable } from 'node:stream';
import { formatLogLine, readableLogs } from '../../src/local/log-format.js';

const CONTEXT = {
  level: 'INFO',
  timestamp: '2026-11-28T15:31:02.123Z',
  service: 'rpm-cache',
  cold_start: false,
  function_arn: 'arn:aws:lambda:local:000000000000:function:rpm-cache-handler',
  function_memory_size: '1024',
  function_name: 'rpm-cache-handler',
  function_request_id: 'r-1',
  sampling_rate: 0,
};
const time = new Date(CONTEXT.timestamp).toTimeString().slice(0, 8);

describe('readable log lines', () => {
  it('puts a request on one line: time, outcome, path, where it went, origin status and ms, upload', () => {
    expect(
      formatLogLine({
        ...CONTEXT,
        message: 'request',
        outcome: 'miss',
        path: 'pub/x.rpm',
        location: 'http://127.0.0.1:8081/pub/x.rpm',
        originStatus: 200,
        originHeadMs: 41,
        cached: false,
        uploadTriggered: true,
        durationMs: 45,
      }),
    ).toBe(
      `${time} miss        pub/x.rpm -> http://127.0.0.1:8081/pub/x.rpm (origin 200, 41 ms) upload triggered in 45 ms`,
    );
  });

  it('puts an upload result on one line', () => {
    expect(
      formatLogLine({
        ...CONTEXT,
        message: 'upload',
        outcome: 'stored',
        path: 'pub/x.rpm',
        bytes: 6196,
        durationMs: 120,
      }),
    ).toBe(`${time} upload stored pub/x.rpm 6196 bytes in 120 ms`);
  });

  it('shows the level, the reason and the error when there is one, and fields it has no place for', () => {
    expect(
      formatLogLine({
        ...CONTEXT,
        level: 'ERROR',
        message: 'request',
        outcome: 'fallback',
        path: 'pub/x.rpm',
        error: { name: 'TimeoutError', message: 'socket hang up', stack: 'at ...' },
        errorStatus: 503,
      }),
    ).toBe(`${time} ERROR fallback    pub/x.rpm : TimeoutError: socket hang up [errorStatus=503]`);
  });

  it('rewrites JSON lines written to a stream, passes other text through, drops metric documents', () => {
    let written = '';
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        written += chunk.toString('utf8');
        callback();
      },
    });
    readableLogs(stream);

    stream.write('rpm-cache listening on http://127.0.0.1:8080\n');
    stream.write(
      `${JSON.stringify({ ...CONTEXT, message: 'upload', outcome: 'stored', path: 'a.rpm' })}\n{"_aws":{}}\n`,
    );
    stream.write(JSON.stringify({ ...CONTEXT, message: 'request', outcome: 'bypass', path: 'r.xml' }).slice(0, 20));

    expect(written).toBe(`rpm-cache listening on http://127.0.0.1:8080\n${time} upload stored a.rpm\n`);
  });
});
