import type { EventTime } from '@sluice/forward';
import type { Logger } from 'pino';
import type { ConfigElement } from '../config/ast.ts';
import type { Resolved, Schema } from '../config/schema.ts';
import type { EventBatch, EventRecord } from './batch.ts';
import type { BufferConfig, BufferDefaults } from './buffer-config.ts';

import type { PipelineView, PluginKind, PluginMetrics } from './pipeline-view.ts';

export type { PluginKind, PluginMetrics };

/**
 * What every running plugin gets from the engine. Inputs use `emit`; filters and
 * outputs use `emitError` for records they reject (routed to `<label @ERROR>`).
 */
export interface PluginContext {
  /** `@id`, or a generated `type.N` when the config gives none */
  id: string;
  type: string;
  logger: Logger;
  /** Aborted when the plugin must stop. */
  signal: AbortSignal;
  /**
   * Routes a batch from this plugin's position (its label, or the root). Resolves when
   * every output it was routed to has accepted it; rejects if one refused. Once it has
   * resolved the input may reuse the batch's memory: what outputs keep, they copy.
   */
  emit(batch: EventBatch): Promise<void>;
  /**
   * A hint from an input: it has just worked through a backlog for `tag` and read all there
   * is, so the output's buffer need not wait out flush_interval for more (a buffer with
   * flush_when_caught_up sends its staged chunk now).
   */
  caughtUp?(tag: string): void;
  /** Routes one record to the @ERROR label (or logs it when there is none). */
  emitError(tag: string, time: EventTime, record: EventRecord, error: Error): void;
  /** Builds a nested plugin (parser/formatter/buffer) from a section element. */
  createNested<T = unknown>(kind: PluginKind, element: ConfigElement, defaultType?: string): T;
  /** Worker index when running with `<system> workers N` (0 otherwise). */
  workerId: number;
  /** Number of worker processes (1 unless `<system> workers N`). */
  workers: number;
  /** Root directory for this plugin's state (positions, buffers) when the config gives none. */
  stateDir?: string;
  /** Metrics counters the monitor reads. */
  metrics: PluginMetrics;
  /** A read-only view of the running pipeline, for plugins that report on it (monitor_agent, prometheus). */
  pipeline?: PipelineView;
  /**
   * Outputs and filters: the router, for plugins that send events back into the pipeline
   * with another tag or label (rewrite_tag_filter) or to a label (concat's timeout_label),
   * as Fluentd's event_emitter helper does.
   */
  router?: OutputRouter;
}

/**
 * What an output that re-emits events gets from the engine. `ctx.emit` of an output routes
 * from the label its `<match>` sits in, or from its `@label` when it has one.
 */
export interface OutputRouter {
  /** the label `ctx.emit` routes from ('' = the root) */
  readonly label: string;
  /** for an output: the <match> it is under (its own, or the copy whose <store> it is) */
  readonly match?: ConfigElement;
  /** Routes a batch from the start of a label's pipeline ('' = the root); resolves on acceptance. */
  emitToLabel(label: string, batch: EventBatch): Promise<void>;
  hasLabel(label: string): boolean;
  /**
   * The first `<match>` of a label's pipeline whose pattern matches `tag`, from the config:
   * usable while the pipeline is built, for loop checks.
   */
  matchFor(tag: string, label: string): ConfigElement | undefined;
}

export interface InputPlugin {
  start(): Promise<void>;
  /** Stop producing; resolve once nothing more will be emitted. */
  stop(): Promise<void>;
}

export interface FilterPlugin {
  /** Returns the filtered batch, or null when every event was dropped. */
  filter(batch: EventBatch): EventBatch | null | Promise<EventBatch | null>;
  start?(): Promise<void>;
  stop?(): Promise<void>;
}

/** The outcome of a buffered output's write: the engine owns retries and backoff. */
export type WriteResult =
  | { status: 'ok' }
  | { status: 'retry'; error: Error; delayMs?: number }
  | { status: 'fatal'; error: Error };

/** A chunk handed to a buffered output's write(). */
export interface Chunk {
  id: string;
  /** chunk-key values: `tag`, `time` (timekey start, seconds), record keys */
  keys: ChunkKeys;
  /** concatenated msgpack [time, record] entries */
  bytes: Buffer;
  count: number;
  /** decoded entries (lazy, cached) */
  entries(): import('./batch.ts').Entry[];
  /**
   * resolves `${tag}`, `${tag[N]}`, `${key}` and strftime placeholders from this chunk's keys;
   * `esc` is applied to every value taken from the tag or a record (e.g. URL encoding)
   */
  expand(template: string, esc?: (value: string) => string): string;
}

export interface ChunkKeys {
  tag?: string;
  time?: number;
  vars: Record<string, string>;
}

export interface OutputPlugin {
  /** Unbuffered path: handle a batch now. Resolve = accepted; the batch's bytes may be reused after that, so copy what is kept. */
  process?(batch: EventBatch): Promise<void> | void;
  /**
   * Buffered path: deliver a chunk. `chunk.bytes` may be reused for another chunk once the
   * returned promise settles: an output that hands them to a socket or a file must wait
   * until they are written (or copy them) before it resolves.
   */
  write?(chunk: Chunk): Promise<WriteResult>;
  /**
   * Buffered path: the resolved <buffer> (chunk keys, timekey, zone...), handed once by the
   * buffer engine before start(), to an output whose writing depends on it (out_file's
   * path template); a <secondary> gets its primary's. May throw a ConfigError.
   */
  useBuffer?(buffer: BufferConfig): void;
  start?(): Promise<void>;
  stop?(): Promise<void>;
}

export interface ParserPlugin {
  /** Parses one line/text. Returns undefined when it does not match. */
  parse(text: string): { time: EventTime | undefined; record: EventRecord } | undefined;
}

export interface FormatterPlugin {
  /** Formats one event into bytes (a line, with its newline where the format has one). */
  format(tag: string, time: EventTime, record: EventRecord): Buffer | string;
}

/**
 * A plugin: its schema and how to build it. `S` is the schema's literal type (written with
 * `defineSchema`, or `defineParams` for the params), so `create` gets its parameters typed:
 * `PluginDescriptor<OutputPlugin, typeof schema>`. The bare form, what the engine handles,
 * takes any schema (`any` passes every variance check) and reads it as a `Schema`, with
 * `create` untyped.
 */
export interface PluginDescriptor<I = unknown, S extends Schema = any> {
  kind: PluginKind;
  type: string;
  aliases?: string[];
  description: string;
  schema: Schema extends S ? Schema : S;
  /**
   * Outputs: 'never' = process() only; 'always' = write() behind the buffer engine;
   * 'optional' = buffered only when the config has a <buffer> section.
   */
  buffered?: 'never' | 'always' | 'optional';
  /**
   * Inputs: whether every worker may run it at once (Fluentd's multi_workers_ready?). An
   * input that reads one shared thing (files, stdin) leaves it unset and must be placed in
   * a `<worker N>` section when `<system> workers` is more than 1.
   */
  multiWorkers?: boolean;
  /** Outputs: the <buffer> defaults this output declares (Fluentd's config_set_default). */
  bufferDefaults?: BufferDefaults;
  /** Builds the plugin; may be async (e.g. copy builds its stores). Side effects belong in start(). */
  create(config: Resolved<S>, ctx: PluginContext): I | Promise<I>;
}
