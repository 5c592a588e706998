import type { PluginDescriptor } from '../../core/plugin.ts';
import { RegexpParser, regexpSchema } from '../../shared/parse/regexp.ts';

// Fluentd's parser_apache: the v0.12 Apache combined-log regexp (path without spaces).
const schema = regexpSchema({
  expression:
    '/^(?<host>[^ ]*) [^ ]* (?<user>[^ ]*) \\[(?<time>[^\\]]*)\\] "(?<method>\\S+)(?: +(?<path>[^ ]*) +\\S*)?" (?<code>[^ ]*) (?<size>[^ ]*)(?: "(?<referer>[^\\"]*)" "(?<agent>[^\\"]*)")?$/',
  time_format: '%d/%b/%Y:%H:%M:%S %z',
});

export default {
  kind: 'parser',
  type: 'apache',
  description: 'Apache access log (common/combined), the older regexp; prefer apache2.',
  schema,
  create: (config, ctx) => RegexpParser.of(config, ctx),
} satisfies PluginDescriptor<RegexpParser, typeof schema>;
