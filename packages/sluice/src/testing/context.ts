import type { EventTime } from '@sluice/forward';
import pino from 'pino';
import { MemoryStore } from '../buffer/memory-store.ts';
import { bufferConfigOf, COMMON_BUFFER_PARAMS, withDefaultParams } from '../buffer/params.ts';
import type { ConfigElement } from '../config/ast.ts';
import { parseConfigText } from '../config/parser.ts';
import { resolve } from '../config/schema.ts';
import { EventBatch, type EventRecord } from '../core/batch.ts';
import type { BufferConfig } from '../core/buffer-config.ts';
import { internalError } from '../core/errors.ts';
import { withErrorCode } from '../core/logger.ts';
import type { OutputPlugin, PluginContext, PluginDescriptor, PluginKind } from '../core/plugin.ts';
import { createNestedPlugin } from '../engine/plugin-loader.ts';

export interface TestContext extends PluginContext {
  /** every batch the plugin emitted, in order */
  emitted: EventBatch[];
  /** every record routed to @ERROR */
  errors: { tag: string; time: EventTime; record: EventRecord; error: Error }[];
  /** decoded records of everything emitted */
  records(): EventRecord[];
  abort(): void;
}

/**
 * A PluginContext for unit tests: emit collects batches (and can be made to wait or
 * reject through `onEmit`), emitError collects rejected records.
 */
export function testContext(
  opts: { id?: string; type?: string; onEmit?: (b: EventBatch) => Promise<void> | void } = {},
): TestContext {
  const ac = new AbortController();
  const emitted: EventBatch[] = [];
  const errors: TestContext['errors'] = [];
  const ctx: TestContext = {
    id: opts.id ?? 'test',
    type: opts.type ?? 'test',
    logger: pino({ level: process.env.SLUICE_TEST_LOG ?? 'silent', formatters: { log: withErrorCode } }),
    signal: ac.signal,
    workerId: 0,
    workers: 1,
    metrics: { emitRecords: 0, emitCount: 0 },
    emitted,
    errors,
    async emit(batch) {
      await opts.onEmit?.(batch);
      // Kept past the emit, so copied, as every store does: an input may reuse the memory
      // of a batch once its emit resolved (in_tail does).
      emitted.push(new EventBatch(batch.tag, Buffer.from(batch.bytes), batch.count));
      ctx.metrics.emitCount++;
      ctx.metrics.emitRecords += batch.count;
    },
    emitError(tag, time, record, error) {
      errors.push({ tag, time, record, error });
    },
    createNested<T>(kind: PluginKind, element: ConfigElement, defaultType?: string): T {
      return createNestedPlugin<T>(kind, element, defaultType, ctx);
    },
    records() {
      return emitted.flatMap((b) => b.entries().map((e) => e.record));
    },
    abort() {
      ac.abort();
    },
  };
  return ctx;
}

/**
 * Builds a plugin from a config snippet in Fluentd syntax, e.g.
 * `instantiate(grep, '<filter **>\n@type grep\n<regexp>...</regexp>\n</filter>')`.
 * The snippet's first directive is the plugin's element.
 */
export function instantiate<I>(
  descriptor: PluginDescriptor<I>,
  snippet: string,
  ctx: TestContext = testContext({ type: descriptor.type }),
): { plugin: I; ctx: TestContext } {
  const root = parseConfigText(snippet, { file: 'test.conf' });
  const el = root.elements[0];
  // A wrong use of this test driver by a test: a programming error (INTERNAL).
  if (!el) throw internalError('snippet has no directive');
  const plugin = descriptor.create(
    resolve(descriptor.schema, el, `<${el.name}> @type ${descriptor.type}`),
    ctx,
  );
  if (plugin instanceof Promise)
    throw internalError(`${descriptor.type} is created asynchronously: build it through the Engine`);
  // A buffered output that works with its resolved <buffer> gets it, as from the buffer engine.
  const out = plugin as OutputPlugin;
  if (descriptor.kind === 'output' && typeof out.useBuffer === 'function')
    out.useBuffer(testBufferConfig(descriptor, el));
  return { plugin, ctx };
}

/**
 * The <buffer> of an output as the buffer engine resolves it (the backend's own parameters
 * are not checked here; memory-store limits).
 */
function testBufferConfig(descriptor: PluginDescriptor, output: ConfigElement): BufferConfig {
  const el = output.elements.find((e) => e.name === 'buffer');
  const defaults = descriptor.bufferDefaults ?? {};
  const element = withDefaultParams(el, defaults.params);
  const backendKeys = element.params.map((p) => p.key).filter((k) => !(k in COMMON_BUFFER_PARAMS));
  const r = resolve({ params: COMMON_BUFFER_PARAMS }, element, '<buffer>', new Set(backendKeys));
  const type =
    el?.params.findLast((p) => p.key === '@type' || p.key === 'type')?.value ?? defaults.type ?? 'memory';
  return bufferConfigOf(type, r.params, el, defaults, new MemoryStore().defaults);
}
