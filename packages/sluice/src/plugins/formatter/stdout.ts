import type { EventTime } from '@sluice/forward';
import { recordJson } from '../../codec/json.ts';
import type { ConfigElement } from '../../config/ast.ts';
import { defineParams } from '../../config/schema.ts';
import type { EventRecord } from '../../core/batch.ts';
import type { FormatterPlugin, PluginContext, PluginDescriptor } from '../../core/plugin.ts';
import { compileStrftime } from '../../time/time-format.ts';

// Fluentd's formatter_stdout: `<event time, local zone> <tag>: <output_type formatted>\n`,
// e.g. `2023-04-28 09:57:43.291989606 +0000 app.log: {"message":"hi"}`.

const params = defineParams({
  output_type: {
    type: 'string',
    default: 'json',
    description:
      'Formatter that renders the record after the time and tag header (json, ltsv, hash, single_value, ...).',
  },
  time_format: {
    type: 'string',
    default: null,
    description:
      "strftime format of the event time in the header; default '%Y-%m-%d %H:%M:%S.%N %z' in the local time zone.",
  },
});

/**
 * Formats an event time as `%Y-%m-%d %H:%M:%S.%N %z` in the process's local zone (TZ).
 * The part up to the seconds and the offset are cached per second, so an event costs
 * one string concatenation.
 */
export function defaultTimeFormatter(): (time: EventTime) => string {
  let cachedSec = Number.NaN;
  let head = '';
  let tail = '';
  return (time) => {
    if (time.sec !== cachedSec) {
      const d = new Date(time.sec * 1000);
      const off = -d.getTimezoneOffset();
      const a = Math.abs(off);
      head = `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.`;
      tail = ` ${off < 0 ? '-' : '+'}${pad2(Math.floor(a / 60))}${pad2(a % 60)}`;
      cachedSec = time.sec;
    }
    return head + String(time.nsec).padStart(9, '0') + tail;
  };
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Params of this formatter that the sub-formatter must not see (it would reject them as unknown). */
const OWN_PARAMS = new Set(['@type', 'type', 'output_type']);

/** Builds the formatter that renders the record part. JSON, the default, is inlined: no extra call per event. */
function subFormatter(
  outputType: string,
  element: ConfigElement,
  ctx: PluginContext,
): (tag: string, time: EventTime, record: EventRecord) => string {
  if (
    outputType === 'json' &&
    element.params.every((p) => OWN_PARAMS.has(p.key) || p.key === 'time_format')
  ) {
    return (_tag, _time, record) => recordJson(record);
  }
  const el: ConfigElement = {
    ...element,
    params: [
      { key: '@type', value: outputType, location: element.location },
      ...element.params.filter((p) => !OWN_PARAMS.has(p.key)),
    ],
  };
  const f = ctx.createNested<FormatterPlugin>('formatter', el, outputType);
  return (tag, time, record) => {
    const out = f.format(tag, time, record);
    const s = typeof out === 'string' ? out : out.toString('utf8');
    // Fluentd chomps the sub-formatter's newline and adds exactly one.
    return s.endsWith('\r\n') ? s.slice(0, -2) : s.endsWith('\n') ? s.slice(0, -1) : s;
  };
}

export interface StdoutFormatter extends FormatterPlugin {
  format(tag: string, time: EventTime, record: EventRecord): string;
}

const descriptor: PluginDescriptor<StdoutFormatter, { params: typeof params }> = {
  kind: 'formatter',
  type: 'stdout',
  description:
    "Fluentd's stdout line: event time (local zone, nanoseconds), tag, then the record in output_type's format.",
  schema: { params },
  create(config, ctx) {
    const p = config.params;
    const timeOf = p.time_format === undefined ? defaultTimeFormatter() : compileStrftime(p.time_format);
    const body = subFormatter(p.output_type, config.element, ctx);
    return {
      format(tag, time, record) {
        return `${timeOf(time)} ${tag}: ${body(tag, time, record)}\n`;
      },
    };
  },
};

export default descriptor;
