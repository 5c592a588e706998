import { type EventBatch, EventBatch as EventBatchCtor, type EventRecord } from '../../src/core/batch.ts';
import type { InputPlugin, OutputPlugin, PluginContext, PluginDescriptor } from '../../src/core/plugin.ts';
import { registerPlugin } from '../../src/engine/registry.ts';

/** What test outputs received, by their `name` param. */
export const captured = new Map<string, EventBatch[]>();
/** Hooks a test sets to hold or fail an output's acceptance, by name. */
export const gates = new Map<string, (b: EventBatch) => Promise<void> | void>();
/** Contexts of test inputs, by tag, so a test can emit as an input would. */
export const inputs = new Map<string, PluginContext>();

export function recordsOf(name: string): EventRecord[] {
  return (captured.get(name) ?? []).flatMap((b) => b.entries().map((e) => e.record));
}

export function tagsOf(name: string): string[] {
  return (captured.get(name) ?? []).map((b) => b.tag);
}

export function resetCapture(): void {
  captured.clear();
  gates.clear();
  inputs.clear();
}

const captureOutput: PluginDescriptor<OutputPlugin> = {
  kind: 'output',
  type: 'test_capture',
  description: 'test-only: records what it receives',
  schema: { params: { name: { type: 'string', default: 'out', description: 'bucket name' } } },
  buffered: 'never',
  create(config) {
    const name = config.params.name as string;
    return {
      async process(batch) {
        await gates.get(name)?.(batch);
        const list = captured.get(name) ?? [];
        // The emit contract: once process() resolves the input may reuse the batch's
        // memory (in_forward emits over its read buffer), so what is kept is copied.
        list.push(new EventBatchCtor(batch.tag, Buffer.from(batch.bytes), batch.count));
        captured.set(name, list);
      },
    };
  },
};

const captureFilter: PluginDescriptor = {
  kind: 'filter',
  type: 'test_throw',
  description: 'test-only: throws on every batch',
  schema: { params: {} },
  create() {
    return {
      filter() {
        throw new Error('boom');
      },
    };
  },
};

const markFilter: PluginDescriptor = {
  kind: 'filter',
  type: 'test_mark',
  description: 'test-only: appends its mark to record.marks',
  schema: { params: { mark: { type: 'string', required: true, description: 'the mark' } } },
  create(config) {
    const mark = config.params.mark as string;
    return {
      filter(batch: EventBatch) {
        const entries = batch.entries().map((e) => ({
          time: e.time,
          record: { ...e.record, marks: [...((e.record.marks as string[]) ?? []), mark] },
        }));
        return EventBatchCtor.fromEntries(batch.tag, entries);
      },
    };
  },
};

const testInput: PluginDescriptor<InputPlugin> = {
  kind: 'input',
  multiWorkers: true,
  type: 'test_input',
  description: 'test-only: exposes its context so a test can emit',
  schema: { params: { tag: { type: 'string', required: true, description: 'key in `inputs`' } } },
  create(config, ctx) {
    inputs.set(config.params.tag as string, ctx);
    return { async start() {}, async stop() {} };
  },
};

export function registerTestPlugins(): void {
  registerPlugin(captureOutput as PluginDescriptor);
  registerPlugin(captureFilter);
  registerPlugin(markFilter);
  registerPlugin(testInput as PluginDescriptor);
}
