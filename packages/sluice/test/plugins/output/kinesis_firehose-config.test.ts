import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import pino from 'pino';
import { ConfigError } from '../../../src/core/errors.ts';
import { Engine } from '../../../src/engine/engine.ts';
import { instantiate } from '../../../src/testing/context.ts';
import { firehoseOut, loadFormatters } from './kinesis_firehose-helpers.ts';

// The config check of out_kinesis_firehose: fluent-plugin-kinesis's parameters are accepted by
// name, the ones Sluice does not build are refused by name, and limits are checked as the
// Ruby plugin checks them. Nothing is sent: no endpoint is needed.

const base = '<match **>\n@type kinesis_firehose\ndelivery_stream_name s\nregion us-east-1\n';

async function engineError(body: string): Promise<Error> {
  try {
    const engine = await Engine.fromText(`${base}${body}\n</match>\n`, {
      logger: pino({ level: 'silent' }),
      // unknown parameters are errors in strict mode (sluice check --strict), warnings otherwise
      strict: true,
    });
    await engine.stop();
  } catch (e) {
    return e as Error;
  }
  assert.fail(`expected a config error for: ${body}`);
}

describe('out_kinesis_firehose config check', () => {
  before(loadFormatters);

  const refuse = (body: string, message: RegExp) =>
    assert.throws(
      () => instantiate(firehoseOut, `${base}${body}\n</match>\n`),
      (e: unknown) =>
        e instanceof ConfigError && message.test((e as Error).message.replace(/^test\.conf:\d+:\d+: /, '')),
      body,
    );

  it("every parameter of fluent-plugin-kinesis's kinesis_firehose that Sluice builds is accepted", () => {
    instantiate(
      firehoseOut,
      `${base}endpoint http://127.0.0.1:1
aws_key_id AKIA
aws_sec_key secret
aws_ses_token token
append_new_line false
data_key message
chomp_record true
compression gzip
max_record_size 1048576
batch_request_max_count 500
batch_request_max_size 4194304
retries_on_batch_request 3
reset_backoff_if_success false
drop_failed_records_after_batch_request_retries true
monitor_num_of_batch_request_retries true
log_truncate_max_size 0
debug true
ssl_verify_peer true
<format>
@type json
</format>
<inject>
time_key t
</inject>
</match>
`,
    );
  });

  it('a parameter or section of fluent-plugin-kinesis that is not built is refused by name (FIREHOSE_PARAM_NOT_BUILT)', () => {
    refuse(
      'http_proxy http://proxy:3128',
      /^FIREHOSE_PARAM_NOT_BUILT: parameter 'http_proxy' of fluent-plugin-kinesis/,
    );
    refuse('ssl_verify_peer false', /^FIREHOSE_PARAM_NOT_BUILT: parameter 'ssl_verify_peer'/);
    for (const section of [
      'assume_role_credentials',
      'web_identity_credentials',
      'instance_profile_credentials',
      'shared_credentials',
      'process_credentials',
    ])
      refuse(
        `<${section}>\nrole_arn arn:aws:iam::1:role/x\n</${section}>`,
        new RegExp(
          `^FIREHOSE_PARAM_NOT_BUILT: section <${section}> of fluent-plugin-kinesis is not built in Sluice; the AWS SDK's default credential chain`,
        ),
      );
  });

  it('limits and pairs as fluent-plugin-kinesis checks them', () => {
    refuse('aws_key_id AKIA', /^FIREHOSE_CREDENTIALS: aws_key_id and aws_sec_key go together/);
    refuse('aws_ses_token t', /^FIREHOSE_CREDENTIALS: aws_ses_token goes with/);
    refuse('batch_request_max_count 501', /batch_request_max_count/);
    refuse('batch_request_max_size 4194305', /batch_request_max_size/);
    refuse('max_record_size 1048577', /max_record_size/);
    refuse('compression lz4', /compression/);
  });

  it('through the engine: an unknown parameter names the closest one; a missing delivery_stream_name is reported', async () => {
    let e = await engineError('delivery_steam_name x');
    assert.match(e.message, /unknown parameter 'delivery_steam_name'.*did you mean 'delivery_stream_name'/);
    e = await engineError(
      '<assume_role_credentials>\nrole_arn x\nrole_session_name y\n</assume_role_credentials>',
    );
    assert.match(e.message, /FIREHOSE_PARAM_NOT_BUILT: section <assume_role_credentials>/);
    try {
      const engine = await Engine.fromText('<match **>\n@type kinesis_firehose\n</match>\n', {
        logger: pino({ level: 'silent' }),
      });
      await engine.stop();
      assert.fail('expected a config error');
    } catch (err) {
      assert.match((err as Error).message, /missing required parameter 'delivery_stream_name'/);
    }
  });

  it('no region anywhere fails the start with FIREHOSE_NO_REGION', async () => {
    const saved = { ...process.env };
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    delete process.env.AWS_PROFILE;
    process.env.AWS_CONFIG_FILE = '/nonexistent/sluice-test/config';
    process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/sluice-test/credentials';
    try {
      const { plugin } = instantiate(
        firehoseOut,
        '<match **>\n@type kinesis_firehose\ndelivery_stream_name s\n</match>\n',
      );
      await assert.rejects(
        plugin.start(),
        /^Error: FIREHOSE_NO_REGION: no AWS region: set region, or AWS_REGION/,
      );
      await plugin.stop();
    } finally {
      for (const k of [
        'AWS_REGION',
        'AWS_DEFAULT_REGION',
        'AWS_PROFILE',
        'AWS_CONFIG_FILE',
        'AWS_SHARED_CREDENTIALS_FILE',
      ])
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
    }
  });
});
