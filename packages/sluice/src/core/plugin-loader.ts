import type { ConfigElement } from '../config/ast.ts';
import { param } from '../config/ast.ts';
import { resolve } from '../config/schema.ts';
import { listPlugins, loadedPlugin, loadPlugin } from '../plugins/registry.ts';
import { ConfigError } from './errors.ts';
import type { PluginContext, PluginKind } from './plugin.ts';

/** Section names whose element configures a nested plugin of a kind. */
export const NESTED_KIND: Record<string, PluginKind> = {
  parse: 'parser',
  format: 'formatter',
  buffer: 'buffer',
  secondary: 'output',
  store: 'output',
};

const DIRECTIVE_KIND: Record<string, PluginKind> = { source: 'input', match: 'output', filter: 'filter' };

export function typeOf(el: ConfigElement): string | undefined {
  return param(el, '@type')?.value ?? param(el, 'type')?.value;
}

/**
 * Imports every plugin a config names, so that building the pipeline (and nested
 * plugins created synchronously by their parents) needs no further I/O. Parsers,
 * formatters and buffers are small and are all loaded, since plugins pick defaults.
 */
export async function preloadPlugins(directives: ConfigElement[]): Promise<void> {
  const jobs: Promise<unknown>[] = [];
  const visit = (el: ConfigElement, kind: PluginKind | undefined) => {
    if (kind) {
      const t = typeOf(el);
      if (t)
        jobs.push(
          loadPlugin(kind, t, param(el, '@type')?.location ?? param(el, 'type')?.location ?? el.location),
        );
      else if (kind === 'input' || kind === 'output' || kind === 'filter') {
        throw new ConfigError(`<${el.name}${el.arg ? ` ${el.arg}` : ''}> has no @type`, el.location);
      }
    }
    for (const child of el.elements) {
      // Directives inside <label> are plugins like top-level ones; elsewhere only the
      // known nested-plugin sections are.
      visit(child, el.name === 'label' ? DIRECTIVE_KIND[child.name] : NESTED_KIND[child.name]);
    }
  };
  for (const d of directives) {
    if (d.name === 'label') visit(d, undefined);
    else visit(d, DIRECTIVE_KIND[d.name]);
  }
  for (const kind of ['parser', 'formatter', 'buffer'] as const) {
    for (const t of listPlugins(kind)) jobs.push(loadPlugin(kind, t));
  }
  await Promise.all(jobs);
}

/**
 * Builds a nested plugin (`<parse>`, `<format>`, ...) from its section. Plugins call this
 * through `ctx.createNested`, synchronously: `preloadPlugins` imported the types already.
 */
export function createNestedPlugin<T>(
  kind: PluginKind,
  element: ConfigElement,
  defaultType: string | undefined,
  ctx: PluginContext,
): T {
  const t = typeOf(element) ?? defaultType;
  if (!t) throw new ConfigError(`<${element.name}> needs @type`, element.location);
  const d = loadedPlugin(kind, t);
  if (!d)
    throw new ConfigError(
      `${kind} plugin '${t}' is not loaded (unknown, or not imported yet)`,
      element.location,
    );
  const plugin = d.create(resolve(d.schema, element, `<${element.name}> @type ${t}`), ctx);
  if (plugin instanceof Promise)
    throw new ConfigError(
      `${kind} plugin '${t}' cannot be nested: it is created asynchronously`,
      element.location,
    );
  return plugin as T;
}
