import type { PluginDescriptor } from '../../core/plugin.ts';
import { RegexpParser, regexpSchema } from '../../shared/parse/regexp.ts';

export default {
  kind: 'parser',
  type: 'apache_error',
  description: 'Apache error log: time, level, pid, client and message.',
  schema: regexpSchema({
    expression:
      '/^\\[[^ ]* (?<time>[^\\]]*)\\] \\[(?<level>[^\\]]*)\\](?: \\[pid (?<pid>[^\\]]*)\\])?( \\[client (?<client>[^\\]]*)\\])? (?<message>.*)$/',
  }),
  create: (config, ctx) => new RegexpParser(config, ctx),
} satisfies PluginDescriptor<RegexpParser>;
