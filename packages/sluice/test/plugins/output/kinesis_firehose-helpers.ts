import { loadPlugin } from '../../../src/engine/registry.ts';
import plain, { type KinesisFirehoseOutput } from '../../../src/plugins/output/kinesis_firehose/index.ts';
import { instantiate, type TestContext, testContext } from '../../../src/testing/context.ts';

// instantiate() resolves the descriptor's own schema; the engine adds <buffer> to a buffered output's
export const firehoseOut = {
  ...plain,
  schema: {
    ...plain.schema,
    sections: { ...plain.schema.sections, buffer: { plugin: 'buffer' as const, description: 'buffer' } },
  },
};

/** Formatters are loaded by the engine before plugins are built; instantiate() needs them loaded. */
export async function loadFormatters(): Promise<void> {
  for (const f of ['json', 'single_value', 'ltsv', 'out_file']) await loadPlugin('formatter', f);
}

/** A chunk as the buffer hands it to write(): key tag, a Sluice chunk id. */
export { chunkOf } from '../../helpers/chunk.ts';

export interface Endpoint {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/** A kinesis_firehose output against an endpoint (the fake, moto), built and started. */
export async function makeOutput(
  at: Endpoint,
  body: string,
): Promise<{ o: KinesisFirehoseOutput; ctx: TestContext }> {
  const ctx = testContext({ type: 'kinesis_firehose' });
  const { plugin } = instantiate(
    firehoseOut,
    `<match **>
@type kinesis_firehose
region ${at.region}
endpoint ${at.endpoint}
aws_key_id ${at.credentials.accessKeyId}
aws_sec_key ${at.credentials.secretAccessKey}
${body}
</match>
`,
    ctx,
  );
  await plugin.start();
  return { o: plugin, ctx };
}
