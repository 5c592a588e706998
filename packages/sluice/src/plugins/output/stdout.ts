import type { Writable } from 'node:stream';
import type { ConfigElement } from '../../config/ast.ts';
import { defineParams, type Resolved } from '../../config/schema.ts';
import type { Entry } from '../../core/batch.ts';
import type { FormatterPlugin, OutputPlugin, PluginContext, PluginDescriptor } from '../../core/plugin.ts';
import { INJECT_SECTION, withInject } from '../../shared/parse/inject.ts';

// Fluentd's out_stdout: every event as one line on standard output, by default
// `2023-04-28 09:57:43.291989606 +0000 tag: {"json"}` (the `stdout` formatter).

/** The format parameters the stdout output and filter share (Fluentd's `output_type` and `<format>`). */
export const stdoutFormatParams = defineParams({
  output_type: {
    type: 'string',
    default: null,
    description:
      'v0.12 spelling of <format> output_type: the record format after the header (json, hash, ltsv...).',
  },
});

export const stdoutFormatSections = {
  format: {
    description: 'How each event is printed (default: @type stdout, output_type json).',
    plugin: 'formatter' as const,
  },
  inject: INJECT_SECTION,
};

const params = defineParams({
  use_logger: {
    type: 'bool',
    default: true,
    description:
      'Accepted for Fluentd compatibility. Fluentd writes to its log file when started with -o; Sluice always writes events to standard output, never to its own log.',
  },
  ...stdoutFormatParams,
});

const schema = { params, sections: stdoutFormatSections };

/** The `<format>` element to build, with the legacy top-level `output_type` folded in. */
export function formatElement(config: Resolved): ConfigElement {
  const given = (config.sections.format as Resolved | undefined)?.element;
  const legacy = config.params.output_type as string | undefined;
  const el: ConfigElement = given ?? {
    name: 'format',
    arg: '',
    params: [],
    elements: [],
    location: config.element.location,
  };
  if (legacy === undefined || el.params.some((p) => p.key === 'output_type')) return el;
  return {
    ...el,
    params: [...el.params, { key: 'output_type', value: legacy, location: config.element.location }],
  };
}

/** Renders entries into one string, so a batch is a single write. */
export function renderLines(formatter: FormatterPlugin, tag: string, entries: Entry[]): string {
  let out = '';
  for (const e of entries) {
    const line = formatter.format(tag, e.time, e.record);
    const s = typeof line === 'string' ? line : line.toString('utf8');
    // Fluentd: `formatter.format(...).chomp + "\n"` — exactly one newline per event.
    out += s.endsWith('\n') ? s : `${s}\n`;
  }
  return out;
}

/**
 * Resolves once the stream has taken the text (its write callback), so a slow reader of
 * our stdout slows the pipeline down instead of growing the stream's queue.
 */
export function writeWithBackpressure(sink: Writable, text: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    sink.write(text, (err) => (err ? reject(err) : resolve()));
  });
}

/** Builds the output writing to `sink` (process.stdout in production; tests pass their own stream). */
export function createStdoutOutput(config: Resolved, ctx: PluginContext, sink: Writable): OutputPlugin {
  const formatter = withInject(
    ctx.createNested<FormatterPlugin>('formatter', formatElement(config), 'stdout'),
    config.sections.inject as Resolved | undefined,
    ctx,
  );
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

const descriptor: PluginDescriptor<OutputPlugin> = {
  kind: 'output',
  type: 'stdout',
  description: "Prints each event on standard output in Fluentd's stdout line format.",
  schema,
  buffered: 'optional',
  defaultChunkKeys: ['tag'],
  create(config, ctx) {
    return createStdoutOutput(config, ctx, process.stdout);
  },
};

export default descriptor;
