import type { Writable } from 'node:stream';
import type { ConfigElement } from '../../config/ast.ts';
import { defineParams, defineSection, type NestedSection, type SectionOf } from '../../config/schema.ts';
import type { Entry } from '../../core/batch.ts';
import type { FormatterPlugin, PluginContext } from '../../core/plugin.ts';
import { INJECT_SECTION, withInject } from '../parse/inject.ts';

// What the stdout output and the stdout filter share: Fluentd's out_stdout and
// filter_stdout print the same lines from the same parameters.

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
  format: defineSection({
    description: 'How each event is printed (default: @type stdout, output_type json).',
    plugin: 'formatter',
  }),
  inject: INJECT_SECTION,
};

/** What the stdout output and filter configs share. */
export interface StdoutFormatConfig {
  params: { output_type?: string };
  sections: { format?: NestedSection; inject?: SectionOf<typeof INJECT_SECTION> };
  element: ConfigElement;
}

/** The `<format>` element to build, with the legacy top-level `output_type` folded in. */
export function formatElement(config: StdoutFormatConfig): ConfigElement {
  const given = config.sections.format?.element;
  const legacy = config.params.output_type;
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

/** The formatter the stdout output and filter print with: their `<format>` with `<inject>`. */
export function stdoutFormatter(config: StdoutFormatConfig, ctx: PluginContext): FormatterPlugin {
  return withInject(
    ctx.createNested<FormatterPlugin>('formatter', formatElement(config), 'stdout'),
    config.sections.inject,
    ctx,
  );
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
