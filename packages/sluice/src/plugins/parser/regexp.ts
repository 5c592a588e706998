import type { PluginDescriptor } from '../../core/plugin.ts';
import { RegexpParser, regexpSchema } from '../../shared/parse/regexp.ts';

export default {
  kind: 'parser',
  type: 'regexp',
  description: 'Parses each line with a Ruby regular expression; named captures become fields.',
  schema: regexpSchema(),
  create: (config, ctx) => new RegexpParser(config, ctx),
} satisfies PluginDescriptor<RegexpParser>;
