import type { Writable } from 'node:stream';
import { defineParams, defineSchema } from '../../config/schema.ts';
import type { OutputPlugin, PluginContext, PluginDescriptor } from '../../core/plugin.ts';
import {
  renderLines,
  type StdoutFormatConfig,
  stdoutFormatParams,
  stdoutFormatSections,
  stdoutFormatter,
  writeWithBackpressure,
} from '../../shared/stdout/format.ts';

// Fluentd's out_stdout: every event as one line on standard output, by default
// `2023-04-28 09:57:43.291989606 +0000 tag: {"json"}` (the `stdout` formatter).

const params = defineParams({
  use_logger: {
    type: 'bool',
    default: true,
    description:
      'Accepted for Fluentd compatibility. Fluentd writes to its log file when started with -o; Sluice always writes events to standard output, never to its own log.',
  },
  ...stdoutFormatParams,
});

const schema = defineSchema({ params, sections: stdoutFormatSections });

/** Builds the output writing to `sink` (process.stdout in production; tests pass their own stream). */
export function createStdoutOutput(
  config: StdoutFormatConfig,
  ctx: PluginContext,
  sink: Writable,
): OutputPlugin {
  const formatter = stdoutFormatter(config, ctx);
  return {
    async process(batch) {
      await writeWithBackpressure(sink, renderLines(formatter, batch.tag, batch.entries()));
    },
    async write(chunk) {
      try {
        // Without `tag` among the chunk keys the tag is not known at write time.
        await writeWithBackpressure(sink, renderLines(formatter, chunk.keys.tag ?? '', chunk.entries()));
        return { status: 'ok' };
      } catch (e) {
        return { status: 'retry', error: e as Error };
      }
    },
  };
}

const descriptor: PluginDescriptor<OutputPlugin, typeof schema> = {
  kind: 'output',
  type: 'stdout',
  description: "Prints each event on standard output in Fluentd's stdout line format.",
  schema,
  buffered: 'optional',
  bufferDefaults: { chunkKeys: ['tag'] },
  create(config, ctx) {
    return createStdoutOutput(config, ctx, process.stdout);
  },
};

export default descriptor;
