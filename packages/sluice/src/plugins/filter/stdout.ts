import type { Writable } from 'node:stream';
import { defineSchema } from '../../config/schema.ts';
import type { FilterPlugin, PluginContext, PluginDescriptor } from '../../core/plugin.ts';
import {
  type StdoutFormatConfig,
  stdoutFormatParams,
  stdoutFormatSections,
  stdoutFormatter,
  writeWithBackpressure,
} from '../../shared/stdout/format.ts';

// Fluentd's filter_stdout: prints every event (same line format as the stdout output)
// and passes the batch on unchanged.

const schema = defineSchema({ params: stdoutFormatParams, sections: stdoutFormatSections });

/** Builds the filter printing to `sink` (process.stdout in production; tests pass their own stream). */
export function createStdoutFilter(
  config: StdoutFormatConfig,
  ctx: PluginContext,
  sink: Writable,
): FilterPlugin {
  const formatter = stdoutFormatter(config, ctx);
  return {
    async filter(batch) {
      let out = '';
      for (const e of batch.entries()) {
        try {
          const line = formatter.format(batch.tag, e.time, e.record);
          out += typeof line === 'string' ? line : line.toString('utf8');
        } catch (err) {
          // As Fluentd: the event goes to @ERROR too, and still passes through.
          ctx.emitError(batch.tag, e.time, e.record, err as Error);
        }
      }
      if (out !== '') await writeWithBackpressure(sink, out);
      return batch;
    },
  };
}

const descriptor: PluginDescriptor<FilterPlugin, typeof schema> = {
  kind: 'filter',
  type: 'stdout',
  description: "Prints each event on standard output in Fluentd's stdout line format and passes it on.",
  schema,
  create(config, ctx) {
    return createStdoutFilter(config, ctx, process.stdout);
  },
};

export default descriptor;
