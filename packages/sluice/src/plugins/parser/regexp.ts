import type { PluginDescriptor } from '../../core/plugin.ts';
import { RegexpParser, regexpSchema } from '../../shared/parse/regexp.ts';

const schema = regexpSchema();

export default {
  kind: 'parser',
  type: 'regexp',
  description: 'Parses each line with a Ruby regular expression; named captures become fields.',
  schema,
  create: (config, ctx) => RegexpParser.of(config, ctx),
} satisfies PluginDescriptor<RegexpParser, typeof schema>;
