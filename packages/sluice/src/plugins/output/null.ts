import { defineParams } from '../../config/schema.ts';
import { SluiceError } from '../../core/errors.ts';
import type { OutputPlugin, PluginDescriptor } from '../../core/plugin.ts';

// Fluentd's out_null: accepts and drops everything. It counts what it drops, and
// `never_flush` makes every delivery fail, which is how buffer and retry behaviour is
// exercised without a real destination.

const params = defineParams({
  never_flush: {
    type: 'bool',
    default: false,
    description:
      'For tests: every process()/write() fails ("failed to flush"), so buffers fill and retries run.',
  },
});

export interface NullOutput extends OutputPlugin {
  /** events dropped so far */
  readonly records: number;
  /** batches or chunks dropped so far */
  readonly batches: number;
}

const descriptor: PluginDescriptor<NullOutput, { params: typeof params }> = {
  kind: 'output',
  type: 'null',
  description: 'Drops every event (counting them). For tests and benchmarks.',
  schema: { params },
  buffered: 'optional',
  bufferDefaults: { chunkKeys: ['tag'] },
  create(config, ctx) {
    const neverFlush = config.params.never_flush;
    let records = 0;
    let batches = 0;
    let bytes = 0;
    const count = (n: number, size: number) => {
      records += n;
      batches++;
      bytes += size;
      ctx.metrics.dropRecords = records;
      ctx.metrics.dropBytes = bytes;
    };
    return {
      get records() {
        return records;
      },
      get batches() {
        return batches;
      },
      process(batch) {
        if (neverFlush)
          throw new SluiceError('NULL_NEVER_FLUSH', 'failed to flush (null output with never_flush true)');
        count(batch.count, batch.bytes.length);
      },
      async write(chunk) {
        if (neverFlush)
          return {
            status: 'retry',
            error: new SluiceError('NULL_NEVER_FLUSH', 'failed to flush (null output with never_flush true)'),
          };
        count(chunk.count, chunk.bytes.length);
        return { status: 'ok' };
      },
    };
  },
};

export default descriptor;
