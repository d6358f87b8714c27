import { ConfigError } from '../src/commons/config.js';
import { selectLambda } from '../src/lambda-selection.js';

describe('selectLambda', () => {
  it.each([
    ['handler', 'handler'],
    ['uploader', 'uploader'],
    ['cki_tools.rpm_cache.handler_lambda', 'handler'],
    ['cki_tools.rpm_cache.uploader_lambda', 'uploader'],
  ])('maps LAMBDA_HANDLER=%s to the %s Lambda', (value, expected) => {
    expect(selectLambda(value)).toBe(expected);
  });

  it.each([undefined, '', 'index.handler', 'Handler'])('rejects %j and lists the accepted values', (value) => {
    const select = () => selectLambda(value);

    expect(select).toThrow(ConfigError);
    expect(select).toThrow('LAMBDA_HANDLER');
    expect(select).toThrow(
      'accepted values: handler, uploader, cki_tools.rpm_cache.handler_lambda, cki_tools.rpm_cache.uploader_lambda',
    );
  });
});
