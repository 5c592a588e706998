import { param } from '../../config/ast.ts';
import type { PluginDescriptor } from '../../core/plugin.ts';
import { parserSchema, type SluiceParser, timeParserFrom } from '../../shared/parse/common.ts';
import { SyslogParser, spaceCount } from '../../shared/parse/syslog.ts';

const RFC3164_DEFAULT = '%b %d %H:%M:%S';

const schema = parserSchema(
  {
    with_priority: {
      type: 'bool',
      default: false,
      description: 'Lines start with a <priority> (e.g. <34>); it becomes the pri field.',
    },
    message_format: {
      type: 'enum',
      values: ['rfc3164', 'rfc5424', 'auto'],
      default: 'rfc3164',
      description: 'Protocol of the lines; auto detects RFC 5424 by its <pri>version prefix.',
    },
    rfc5424_time_format: {
      type: 'string',
      default: '%Y-%m-%dT%H:%M:%S.%L%z',
      description: 'Time format of RFC 5424 lines (a time without fraction is accepted too).',
    },
    parser_engine: {
      type: 'enum',
      values: ['regexp', 'string'],
      default: 'regexp',
      aliases: ['parser_type'],
      description: 'regexp (Fluentd default) or string (a faster scanner; accepts idents without a colon).',
    },
    support_colonless_ident: {
      type: 'bool',
      default: true,
      description: 'With parser_engine string: `host ident message` without the colon after ident.',
    },
  },
  { time_format: RFC3164_DEFAULT },
);

export default {
  kind: 'parser',
  type: 'syslog',
  description: 'Syslog lines, RFC 3164 (BSD) or RFC 5424, or detected per line (auto).',
  schema,
  create(config) {
    const p = config.params;
    const format = p.message_format;
    const fmt3164 = p.time_format;
    // message_format rfc5424 reads time_format as its own only when the user gave one.
    const fmt5424 =
      format === 'rfc5424' && param(config.element, 'time_format') ? fmt3164 : p.rfc5424_time_format;
    const parser = new SyslogParser({
      withPriority: p.with_priority,
      format,
      engine: p.parser_engine,
      supportColonlessIdent: p.support_colonless_ident,
      keepTimeKey: p.keep_time_key,
      estimate: p.estimate_current_event,
      time3164: timeParserFrom(config, { format: fmt3164 }),
      spaces3164: spaceCount(fmt3164),
      fixed3164: fmt3164 === RFC3164_DEFAULT || fmt3164 === '%b %d %H:%M:%S.%N',
      time5424: timeParserFrom(config, { format: fmt5424 }),
      time5424NoFraction: timeParserFrom(config, { format: '%Y-%m-%dT%H:%M:%S%z' }),
      spaces5424: spaceCount(fmt5424),
    });
    return parser as SluiceParser;
  },
} satisfies PluginDescriptor<SluiceParser, typeof schema>;
