// Fluentd's inject helper (plugin_helper/inject.rb): `<inject>` adds the host name, the
// worker id, the tag and the time to each record just before an output formats it. Here
// it wraps the output's formatter, so an output gains it by declaring the section and
// wrapping its formatter once; records are copied, never changed in place (a batch's
// decoded records may be shared with other outputs of a copy).
import { hostname as osHostname } from 'node:os';
import type { EventTime } from '@sluice/forward';
import { defineParams, defineSection, type SectionOf } from '../../config/schema.ts';
import type { EventRecord } from '../../core/batch.ts';
import type { FormatterPlugin, PluginContext } from '../../core/plugin.ts';
import { TIME_FORMAT_PARAMS, timeFormatterFrom } from './format-common.ts';

const params = defineParams({
  hostname_key: { type: 'string', default: null, description: 'Record key that gets the host name.' },
  hostname: {
    type: 'string',
    default: null,
    description: 'The host name written with hostname_key (default: this machine’s name).',
  },
  worker_id_key: {
    type: 'string',
    default: null,
    description: 'Record key that gets the worker id (0 to workers-1).',
  },
  tag_key: { type: 'string', default: null, description: 'Record key that gets the tag.' },
  time_key: { type: 'string', default: null, description: 'Record key that gets the event time.' },
  time_type: {
    type: 'enum',
    values: ['float', 'unixtime', 'unixtime_millis', 'unixtime_micros', 'unixtime_nanos', 'string'],
    default: 'float',
    description:
      'How time_key is written: float (seconds with microseconds), unixtime (seconds), unixtime_millis/_micros/_nanos (integers), or string (time_format).',
  },
  time_format: TIME_FORMAT_PARAMS.time_format,
  localtime: TIME_FORMAT_PARAMS.localtime,
  utc: TIME_FORMAT_PARAMS.utc,
  timezone: TIME_FORMAT_PARAMS.timezone,
});

/** The `<inject>` section, for the schema of an output that formats records. */
export const INJECT_SECTION = defineSection({
  description:
    'Adds the host name, worker id, tag and/or time to each record before it is formatted (Fluentd’s <inject>).',
  params,
});

type InjectSection = SectionOf<typeof INJECT_SECTION>;

type TimeValue = (t: EventTime) => number | string | bigint;

function timeValue(section: InjectSection): TimeValue {
  switch (section.params.time_type) {
    case 'float':
      // Ruby: time.to_r.truncate(6).to_f — microseconds, as a JSON number.
      return (t) => t.sec + Math.floor(t.nsec / 1000) / 1e6;
    case 'unixtime':
      return (t) => t.sec;
    case 'unixtime_millis':
      return (t) => t.sec * 1000 + Math.floor(t.nsec / 1e6);
    case 'unixtime_micros':
      return (t) => t.sec * 1e6 + Math.floor(t.nsec / 1000);
    case 'unixtime_nanos':
      // Past 2^53: a BigInt, which the JSON writers print as an integer.
      return (t) => BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec);
    default:
      return timeFormatterFrom({ ...section, params: { ...section.params, time_type: 'string' } });
  }
}

/** The formatter with `<inject>` applied; the formatter itself when the section adds nothing. */
export function withInject(
  formatter: FormatterPlugin,
  section: InjectSection | undefined,
  ctx: PluginContext,
): FormatterPlugin {
  if (!section) return formatter;
  const p = section.params;
  const adds: [string, (tag: string, time: EventTime) => unknown][] = [];
  if (p.hostname_key) {
    const host = p.hostname ?? osHostname();
    adds.push([p.hostname_key, () => host]);
  }
  if (p.worker_id_key) {
    const id = ctx.workerId;
    adds.push([p.worker_id_key, () => id]);
  }
  if (p.tag_key) adds.push([p.tag_key, (tag) => tag]);
  if (p.time_key) {
    const value = timeValue(section);
    adds.push([p.time_key, (_, time) => value(time)]);
  } else if (p.time_format) {
    ctx.logger.warn(
      { code: 'INJECT_TIME_FORMAT_IGNORED' },
      "<inject>: 'time_format' specified without 'time_key', will be ignored",
    );
  }
  if (adds.length === 0) return formatter;
  return {
    format(tag: string, time: EventTime, record: EventRecord) {
      const r: EventRecord = { ...record };
      for (const [key, value] of adds) r[key] = value(tag, time);
      return formatter.format(tag, time, r);
    },
  };
}
