import type { ConfigElement } from '../config/ast.ts';
import { param } from '../config/ast.ts';
import { resolve, type Schema } from '../config/schema.ts';
import { EventBatch } from '../core/batch.ts';
import { ConfigError } from '../core/errors.ts';
import type { OutputPlugin, PluginContext, PluginDescriptor } from '../core/plugin.ts';
import { typeOf } from './plugin-loader.ts';
import { loadedPlugin, loadPlugin } from './registry.ts';
import type { OutputSink } from './router.ts';

/** A built output: what the router calls, plus lifecycle for the engine. */
export interface OutputNode extends OutputSink {
  type: string;
  element: ConfigElement;
  ctx: PluginContext;
  plugin?: OutputPlugin;
  /** present when the output runs behind the buffer engine */
  buffer?: import('../buffer/buffered-output.ts').BufferedOutput;
  children: OutputNode[];
  start(): Promise<void>;
  stop(): Promise<void>;
  flushAll(): Promise<void>;
}

export interface OutputBuildEnv {
  makeContext(el: ConfigElement, type: string, kind: 'output'): PluginContext;
  /** Routes a batch into a label's pipeline (relabel). Checked at build time. */
  emitToLabel(label: string, batch: EventBatch): Promise<void> | void;
  /** Passes an input's caught-up hint into a label's pipeline (relabel). */
  caughtUpInLabel(label: string, tag: string): void;
  hasLabel(label: string): boolean;
}

const bufferSections: Schema['sections'] = {
  buffer: {
    plugin: 'buffer',
    description: 'Buffer of this output: chunking, flushing, retries, overflow (see docs/buffer.md).',
  },
  secondary: {
    plugin: 'output',
    description: 'Output that receives chunks the primary could not deliver after retry_secondary_threshold.',
  },
};

function withBufferSections(d: PluginDescriptor): Schema {
  if (d.buffered === undefined || d.buffered === 'never') return d.schema;
  return { params: d.schema.params, sections: { ...bufferSections, ...d.schema.sections } };
}

function describe(el: ConfigElement, type: string): string {
  return `<${el.name}${el.arg ? ` ${el.arg}` : ''}> @type ${type}`;
}

async function createPlugin(el: ConfigElement, env: OutputBuildEnv, type: string) {
  const d = loadedPlugin('output', type) as PluginDescriptor<OutputPlugin> | undefined;
  if (!d) throw new ConfigError(`output plugin '${type}' was not loaded`, el.location);
  const ctx = env.makeContext(el, type, 'output');
  const plugin = await d.create(resolve(withBufferSections(d), el, describe(el, type)), ctx);
  return { d, ctx, plugin };
}

export async function buildOutput(el: ConfigElement, env: OutputBuildEnv): Promise<OutputNode> {
  const type = typeOf(el);
  if (!type) throw new ConfigError(`<${el.name}> has no @type`, el.location);
  if (type === 'copy') return buildCopy(el, env);
  if (type === 'relabel') return buildRelabel(el, env);
  const { d, ctx, plugin } = await createPlugin(el, env, type);
  const bufferEl = el.elements.find((e) => e.name === 'buffer');
  const buffered =
    d.buffered === 'always' || (d.buffered === 'optional' && (bufferEl !== undefined || !plugin.process));
  let secondary: OutputPlugin | undefined;
  const node: OutputNode = {
    id: ctx.id,
    type,
    element: el,
    ctx,
    plugin,
    children: [],
    emit: () => undefined,
    start: async () => {
      await plugin.start?.();
      await secondary?.start?.();
      await node.buffer?.start();
    },
    stop: async () => {
      await node.buffer?.stop();
      await plugin.stop?.();
      await secondary?.stop?.();
    },
    flushAll: async () => {
      await node.buffer?.flushAll();
    },
  };
  if (buffered) {
    if (!plugin.write)
      throw new ConfigError(`output '${type}' declares buffering but has no write()`, el.location);
    const secondaryEl = el.elements.find((e) => e.name === 'secondary');
    if (secondaryEl) {
      const st = typeOf(secondaryEl);
      if (!st) throw new ConfigError('<secondary> has no @type', secondaryEl.location);
      // A secondary takes the primary's chunks through write(); it has no buffer of its own.
      secondary = (await createPlugin(secondaryEl, env, st)).plugin;
      if (!secondary.write)
        throw new ConfigError(
          `<secondary> @type ${st} cannot take chunks (it has no write())`,
          secondaryEl.location,
        );
    }
    const mod = await import('../buffer/buffered-output.ts');
    const buf = await mod.createBufferedOutput({
      descriptor: d,
      output: plugin,
      bufferElement: bufferEl,
      outputElement: el,
      secondary,
      ctx,
      loadStore: (type, at) => loadPlugin('buffer', type, at),
    });
    node.buffer = buf;
    node.emit = (batch) => buf.emit(batch);
    node.caughtUp = (tag) => buf.caughtUp(tag);
  } else {
    if (!plugin.process) throw new ConfigError(`output '${type}' needs a <buffer> section`, el.location);
    const process = plugin.process.bind(plugin);
    node.emit = (batch) => {
      ctx.metrics.emitCount++;
      ctx.metrics.emitRecords += batch.count;
      return process(batch);
    };
  }
  return node;
}

async function buildCopy(el: ConfigElement, env: OutputBuildEnv): Promise<OutputNode> {
  // copy's schema comes from its descriptor through the registry, like every plugin's.
  const r = resolve((await loadPlugin('output', 'copy', el.location)).schema, el, describe(el, 'copy'));
  const ctx = env.makeContext(el, 'copy', 'output');
  const isolate = r.params.copy_mode !== 'no_copy' || r.params.deep_copy === true;
  const stores = el.elements.filter((e) => e.name === 'store');
  if (stores.length === 0) throw new ConfigError('copy needs at least one <store>', el.location);
  const children: OutputNode[] = [];
  const flags: { ignoreError: boolean; skipIfPrevOk: boolean }[] = [];
  for (const s of stores) {
    const args = s.arg.split(/\s+/).filter(Boolean);
    for (const a of args) {
      if (a !== 'ignore_error' && a !== 'ignore_if_prev_success')
        throw new ConfigError(
          `unknown <store> argument '${a}' (ignore_error, ignore_if_prev_success)`,
          s.location,
        );
    }
    flags.push({
      ignoreError: args.includes('ignore_error'),
      skipIfPrevOk: args.includes('ignore_if_prev_success'),
    });
    children.push(await buildOutput(s, env));
  }
  // Stores are fed in order and each acceptance awaited, as Fluentd's copy does: a store
  // that refuses (and is not ignore_error) fails the emit and the stores after it.
  const emit = async (batch: EventBatch) => {
    ctx.metrics.emitCount++;
    ctx.metrics.emitRecords += batch.count;
    let prevOk = false;
    for (let i = 0; i < children.length; i++) {
      if (flags[i]!.skipIfPrevOk && prevOk) continue;
      const b = isolate ? new EventBatch(batch.tag, batch.bytes, batch.count) : batch;
      try {
        await children[i]!.emit(b);
        prevOk = true;
      } catch (e) {
        prevOk = false;
        if (!flags[i]!.ignoreError) throw e;
        ctx.logger.warn(
          { code: 'STORE_IGNORED_ERROR', err: e, store: children[i]!.id },
          'store refused the events; ignored (ignore_error)',
        );
      }
    }
  };
  return composite(el, 'copy', ctx, children, emit);
}

const relabelSchema: Schema = { params: {} };

async function buildRelabel(el: ConfigElement, env: OutputBuildEnv): Promise<OutputNode> {
  resolve(relabelSchema, el, describe(el, 'relabel'));
  const label = param(el, '@label');
  if (!label) throw new ConfigError('relabel needs @label', el.location);
  if (!env.hasLabel(label.value))
    throw new ConfigError(`relabel: no <label ${label.value}> is defined`, label.location);
  const ctx = env.makeContext(el, 'relabel', 'output');
  return composite(
    el,
    'relabel',
    ctx,
    [],
    (batch) => {
      ctx.metrics.emitCount++;
      ctx.metrics.emitRecords += batch.count;
      return env.emitToLabel(label.value, batch);
    },
    (tag) => env.caughtUpInLabel(label.value, tag),
  );
}

function composite(
  el: ConfigElement,
  type: string,
  ctx: PluginContext,
  children: OutputNode[],
  emit: OutputSink['emit'],
  caughtUp: (tag: string) => void = (tag) => {
    for (const c of children) c.caughtUp?.(tag);
  },
): OutputNode {
  return {
    id: ctx.id,
    type,
    element: el,
    ctx,
    children,
    emit,
    caughtUp,
    start: async () => {
      for (const c of children) await c.start();
    },
    stop: async () => {
      for (const c of children) await c.stop();
    },
    flushAll: async () => {
      await Promise.all(children.map((c) => c.flushAll()));
    },
  };
}
