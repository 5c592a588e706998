import type { ConfigElement } from '../config/ast.ts';
import { param, typeOf } from '../config/ast.ts';
import { resolve } from '../config/schema.ts';
import { ConfigError, ConfigErrors } from '../core/errors.ts';
import type { PluginContext, PluginKind } from '../core/plugin.ts';
import { listPlugins, loadedPlugin, loadPlugin } from './registry.ts';

/** Section names whose element configures a nested plugin of a kind. */
export const NESTED_KIND: Record<string, PluginKind> = {
  parse: 'parser',
  format: 'formatter',
  buffer: 'buffer',
  secondary: 'output',
  store: 'output',
};

const DIRECTIVE_KIND: Record<string, PluginKind> = { source: 'input', match: 'output', filter: 'filter' };

export { typeOf };

/** Each plugin element under `el` (itself included when `kind` is given), with its kind. */
function* pluginElements(
  el: ConfigElement,
  kind: PluginKind | undefined,
): Generator<[ConfigElement, PluginKind]> {
  if (kind) yield [el, kind];
  for (const child of el.elements) {
    // Directives inside <label> are plugins like top-level ones; elsewhere only the
    // known nested-plugin sections are.
    yield* pluginElements(child, el.name === 'label' ? DIRECTIVE_KIND[child.name] : NESTED_KIND[child.name]);
  }
}

function directiveKind(d: ConfigElement): PluginKind | undefined {
  return d.name === 'label' ? undefined : DIRECTIVE_KIND[d.name];
}

/**
 * Imports every plugin a config names, so that building the pipeline (and nested
 * plugins created synchronously by their parents) needs no further I/O. Parsers,
 * formatters and buffers are small and are all loaded, since plugins pick defaults.
 * Every plugin that cannot be loaded is reported, not only the first (ConfigErrors).
 */
export async function preloadPlugins(directives: ConfigElement[]): Promise<void> {
  const errors: ConfigError[] = [];
  const jobs: Promise<unknown>[] = [];
  const keep = (e: unknown) => {
    if (e instanceof ConfigError) errors.push(e);
    else throw e;
  };
  for (const d of directives) {
    for (const [el, kind] of pluginElements(d, directiveKind(d))) {
      const t = typeOf(el);
      if (t)
        jobs.push(
          loadPlugin(
            kind,
            t,
            param(el, '@type')?.location ?? param(el, 'type')?.location ?? el.location,
          ).catch(keep),
        );
      else if (kind === 'input' || kind === 'output' || kind === 'filter')
        errors.push(new ConfigError(`<${el.name}${el.arg ? ` ${el.arg}` : ''}> has no @type`, el.location));
    }
  }
  for (const kind of ['parser', 'formatter', 'buffer'] as const) {
    for (const t of listPlugins(kind)) jobs.push(loadPlugin(kind, t));
  }
  await Promise.all(jobs);
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new ConfigErrors(errors);
}

/**
 * Whether every plugin a directive names was loaded (after preloadPlugins), so building it
 * cannot fail for that reason again: its load error is reported once.
 */
export function loadable(d: ConfigElement): boolean {
  for (const [el, kind] of pluginElements(d, directiveKind(d))) {
    const t = typeOf(el);
    if (t ? !loadedPlugin(kind, t) : kind === 'input' || kind === 'output' || kind === 'filter') return false;
  }
  return true;
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
