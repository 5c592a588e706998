import type { PluginDescriptor } from '../../core/plugin.ts';
import { RegexpParser, regexpSchema } from '../../shared/parse/regexp.ts';

const schema = regexpSchema({
  expression:
    '/^\\[[^ ]* (?<time>[^\\]]*)\\] \\[(?<level>[^\\]]*)\\](?: \\[pid (?<pid>[^\\]]*)\\])?( \\[client (?<client>[^\\]]*)\\])? (?<message>.*)$/',
});

export default {
  kind: 'parser',
  type: 'apache_error',
  description: 'Apache error log: time, level, pid, client and message.',
  schema,
  create: (config, ctx) => RegexpParser.of(config, ctx),
} satisfies PluginDescriptor<RegexpParser, typeof schema>;
