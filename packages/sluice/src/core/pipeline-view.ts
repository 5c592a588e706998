import type { ConfigElement } from '../config/ast.ts';
import type { Schema } from '../config/schema.ts';
import type { EventBatch } from './batch.ts';

// A read-only view of a running pipeline for the plugins that report on it (monitor_agent,
// prometheus) and for monitor/. The engine implements it; declaring it here, below the
// engine, is what lets a monitoring plugin see the pipeline without importing the engine
// (and without an import cycle between the plugin contract and the engine).

export type PluginKind = 'input' | 'output' | 'filter' | 'parser' | 'formatter' | 'buffer';

export interface PluginMetrics {
  emitRecords: number;
  emitCount: number;
  /** bytes of the batches an input emitted (Fluentd's emit_size) */
  emitSize?: number;
  [k: string]: number | string | undefined;
}

export interface BufferMetrics {
  stagedBytes: number;
  stagedChunks: number;
  queuedBytes: number;
  queuedChunks: number;
  emitCount: number;
  emitRecords: number;
  writeCount: number;
  writeRecords: number;
  retryCount: number;
  /** events dropped: drop_oldest_chunk, retries exhausted, fatal errors, oversized records */
  dropCount: number;
  backupCount: number;
  secondaryCount: number;
  /** ms since the epoch, while retrying */
  nextRetryAt: number | undefined;
  /** ms since the epoch when the current run of failures began (monitor_agent's retry.start) */
  retryStartAt?: number;
  /** failures in the current run (monitor_agent's retry.steps); 0 when not retrying */
  retrySteps?: number;
  lastError: string | undefined;
  oldestChunkAgeMs: number | undefined;
}

/** An output's buffer as the monitor sees it. */
export interface BufferView {
  /** the resolved `<buffer>` settings (reported as monitor_agent's buffer_config) */
  readonly config: { readonly totalLimitSize: number };
  metrics(): BufferMetrics;
}

/** An output (or a `<store>` of copy) in the running pipeline. */
export interface OutputView {
  readonly id: string;
  readonly type: string;
  readonly element: ConfigElement;
  readonly buffer?: BufferView;
  readonly children: readonly OutputView[];
}

export interface PluginView {
  readonly id: string;
  readonly type: string;
  readonly kind: PluginKind;
  readonly element: ConfigElement;
  readonly ctx: { readonly metrics: PluginMetrics };
  readonly output?: OutputView;
  /** the plugin's parameter schema (for masking secrets when reporting its config) */
  readonly schema?: Schema;
}

/** Sees every batch entering a label's router (the monitor's live tail). Must not throw or block. */
export type Tap = (label: string, batch: EventBatch) => void;

/** One label's router. */
export interface LabelView {
  readonly taps: Set<Tap>;
  /** events that matched no `<match>` */
  readonly unmatchedRecords: number;
  route(tag: string): { readonly sink: { readonly id: string } | undefined };
}

export interface PipelineGraph {
  inputs: { id: string; type: string; label: string | null }[];
  labels: {
    name: string;
    rules: { kind: string; id: string; type: string; pattern: string; directive: string }[];
  }[];
}

export interface PipelineView {
  /** every plugin has started and the pipeline is not stopping */
  readonly ready: boolean;
  readonly plugins: readonly PluginView[];
  readonly root: ConfigElement;
  readonly system: { readonly root_dir?: string };
  readonly workers: number;
  readonly workerId: number;
  graph(): PipelineGraph;
  /** the router of a label ('' = the root) */
  pipeline(label: string): LabelView | undefined;
  /** the schema of a plugin type, for reporting its parameters */
  schemaOf(kind: PluginKind, type: string): Schema | undefined;
}
