import type { PluginDescriptor } from '../../core/plugin.ts';
import { APACHE2_KEYS, Apache2Bytes } from '../../shared/parse/apache2-bytes.ts';
import {
  type ParseResult,
  parserSchema,
  type SluiceParser,
  timeParserFrom,
} from '../../shared/parse/common.ts';
import { rubyToI } from '../../shared/parse/types.ts';

// Fluentd's parser_apache2, same regexp and record shape: '-' becomes null, code and
// size become integers. Like Fluentd it ignores `types` and time_key.
const REGEXP =
  /^(?<host>[^ ]*) [^ ]* (?<user>[^ ]*) \[(?<time>[^\]]*)\] "(?<method>\S+)(?: +(?<path>(?:[^"]|\\")*?)(?: +\S*)?)?" (?<code>[^ ]*) (?<size>[^ ]*)(?: "(?<referer>(?:[^"]|\\")*)" "(?<agent>(?:[^"]|\\")*)")?$/m;
const TIME_FORMAT = '%d/%b/%Y:%H:%M:%S %z';

const dash = (v: string | undefined) => (v === '-' || v === undefined ? null : v);

const schema = parserSchema({});

export default {
  kind: 'parser',
  type: 'apache2',
  description:
    'Apache access log, common or combined format (fields host, user, method, path, code, size, referer, agent).',
  schema,
  create(config) {
    const parseTime = timeParserFrom(config, { type: 'string', format: TIME_FORMAT });
    const keep = config.params.keep_time_key;
    // The time params cannot change what the byte path reads: the stamp carries its zone
    // and anything but the exact stamp shape goes to parse().
    const bytes = new Apache2Bytes(keep);
    const parser: SluiceParser = {
      lastError: undefined,
      entryKeys: keep ? [...APACHE2_KEYS, 'time'] : APACHE2_KEYS,
      entry: (w, b, s, e, extra) => bytes.entry(w, b, s, e, extra),
      parse(text: string): ParseResult | undefined {
        const m = REGEXP.exec(text);
        if (!m) {
          parser.lastError = 'pattern not matched';
          return undefined;
        }
        const g = m.groups!;
        const time = parseTime(g.time);
        if (!time) {
          parser.lastError = `invalid time format: value = ${g.time}`;
          return undefined;
        }
        const code = rubyToI(g.code);
        const record: Record<string, unknown> = {
          host: dash(g.host),
          user: dash(g.user),
          method: g.method,
          path: g.path ?? null,
          code: code === 0 ? null : code,
          size: g.size === '-' ? null : rubyToI(g.size),
          referer: dash(g.referer),
          agent: dash(g.agent),
        };
        if (keep) record.time = g.time;
        return { time, record };
      },
    };
    return parser;
  },
} satisfies PluginDescriptor<SluiceParser, typeof schema>;
