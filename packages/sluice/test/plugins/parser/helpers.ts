import { parseRaw } from '../../../src/config/parser.ts';
import { resolve } from '../../../src/config/schema.ts';
import type { PluginDescriptor } from '../../../src/core/plugin.ts';
import { testContext } from '../../../src/testing/context.ts';

/** Builds a parser or formatter from the body of a `<parse>`/`<format>` section. */
export function build<T>(
  d: PluginDescriptor<T>,
  body = '',
  section = d.kind === 'formatter' ? 'format' : 'parse',
): T {
  const root = parseRaw(`<${section}>\n@type ${d.type}\n${body}\n</${section}>\n`, { file: 'test.conf' });
  const el = root.elements[0]!;
  const made = d.create(resolve(d.schema, el, `<${section}> @type ${d.type}`), testContext());
  if (made instanceof Promise) throw new Error('async create');
  return made;
}
