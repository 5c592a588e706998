import type { PluginDescriptor } from '../../core/plugin.ts';
import { RegexpParser, regexpSchema } from '../../shared/parse/regexp.ts';

const schema = regexpSchema({
  expression:
    '/^(?<remote>[^ ]*) (?<host>[^ ]*) (?<user>[^ ]*) \\[(?<time>[^\\]]*)\\] "(?<method>\\S+)(?: +(?<path>[^\\"]*?)(?: +\\S*)?)?" (?<code>[^ ]*) (?<size>[^ ]*)(?: "(?<referer>[^\\"]*)" "(?<agent>[^\\"]*)"(?:\\s+\\"?(?<http_x_forwarded_for>[^\\"]*)\\"?)?)?$/',
  time_format: '%d/%b/%Y:%H:%M:%S %z',
});

export default {
  kind: 'parser',
  type: 'nginx',
  description:
    "Nginx access log in its default 'combined' format, with an optional trailing X-Forwarded-For.",
  schema,
  create: (config, ctx) => RegexpParser.of(config, ctx),
} satisfies PluginDescriptor<RegexpParser, typeof schema>;
