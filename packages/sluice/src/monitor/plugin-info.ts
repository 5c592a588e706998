// What monitor_agent reports for each plugin, field for field with Fluentd's
// in_monitor_agent (lib/fluent/plugin/in_monitor_agent.rb, v1.x), read from the running
// engine's counters and buffer metrics at request time: nothing is kept or polled.
import { EventTime } from '@sluice/forward';
import type { ConfigElement } from '../config/ast.ts';
import type { Schema } from '../config/schema.ts';
import type { PipelineView, PluginView } from '../core/pipeline-view.ts';
import { compileStrftime } from '../time/time-format.ts';

export interface InfoOptions {
  withConfig?: boolean;
  withRetry?: boolean;
  /** debug=1: every internal counter under instance_variables */
  withDebugInfo?: boolean;
  /** with_ivars=a,b: only these internal counters */
  ivars?: string[];
}

export type PluginInfo = Record<string, unknown>;

const MASK = 'xxxxxx';

/** Fluentd's order: inputs, then outputs and filters as the config declares them. */
export function monitoredPlugins(engine: PipelineView): PluginView[] {
  const inputs = engine.plugins.filter((p) => p.kind === 'input');
  const rest = engine.plugins.filter((p) => p.kind === 'output' || p.kind === 'filter');
  return [...inputs, ...rest];
}

/** The params of a directive as a hash, with `secret` parameters masked (Fluentd masks them too). */
export function configHash(p: { element: ConfigElement; schema?: Schema }): Record<string, string> {
  const schema = p.schema;
  const out: Record<string, string> = {};
  for (const param of p.element.params) {
    const spec = schema?.params[param.key];
    out[param.key] = spec?.type === 'secret' ? MASK : param.value;
  }
  return out;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

// Fluentd prints Time#to_s ("2025-05-29 16:05:36 +0900"); Sluice answers in UTC.
const rubyTimeOf = compileStrftime('%Y-%m-%d %H:%M:%S %z', { utc: true });

function rubyTime(ms: number): string {
  return rubyTimeOf(EventTime.fromMillis(ms));
}

export function pluginInfo(p: PluginView, opts: InfoOptions = {}): PluginInfo {
  const m = p.ctx.metrics;
  const info: PluginInfo = {
    plugin_id: p.id,
    plugin_category: p.kind,
    type: p.type,
  };
  if (opts.withConfig) info.config = configHash(p);
  info.output_plugin = p.kind === 'output';
  const buffer = p.output?.buffer;
  if (p.kind === 'output' && buffer) {
    const b = buffer.metrics();
    const total = b.stagedBytes + b.queuedBytes;
    const limit = buffer.config.totalLimitSize;
    info.buffer_queue_length = b.queuedChunks;
    info.buffer_timekeys = [];
    info.buffer_total_queued_size = total;
    info.retry_count = b.retryCount;
    info.emit_records = b.emitRecords;
    info.emit_size = 0;
    info.emit_count = b.emitCount;
    // Fluentd counts every try (a failed one is also a rollback).
    info.write_count = b.writeCount + b.retryCount;
    info.write_secondary_count = b.secondaryCount;
    info.rollback_count = b.retryCount;
    info.drop_records = b.dropCount;
    info.buffer_stage_length = b.stagedChunks;
    info.buffer_stage_byte_size = b.stagedBytes;
    info.buffer_queue_byte_size = b.queuedBytes;
    info.buffer_available_buffer_space_ratios =
      limit > 0 ? round2(Math.max(0, 100 * (1 - total / limit))) : 100;
    info.buffer_total_limit_size = limit;
    info.buffer_oldest_chunk_age = b.oldestChunkAgeMs === undefined ? null : b.oldestChunkAgeMs / 1000;
    info.last_error = b.lastError ?? null;
    if (opts.withRetry) {
      info.retry =
        b.nextRetryAt !== undefined && b.retryStartAt !== undefined
          ? { start: rubyTime(b.retryStartAt), steps: b.retrySteps ?? 0, next_time: rubyTime(b.nextRetryAt) }
          : {};
    }
  } else if (p.kind === 'output') {
    info.retry_count = 0;
    info.emit_records = m.emitRecords;
    info.emit_count = m.emitCount;
    if (opts.withRetry) info.retry = {};
  } else {
    info.retry_count = null;
    info.emit_records = m.emitRecords;
    info.emit_size = m.emitSize ?? 0;
    info.emit_count = m.emitCount;
    if (p.kind === 'filter') info.filtered_records = (m.outRecords as number | undefined) ?? 0;
  }
  if (opts.withDebugInfo || opts.ivars) {
    const ivars: Record<string, unknown> = { ...m };
    if (buffer) {
      ivars.buffer = buffer.metrics();
      ivars.buffer_config = { ...buffer.config, zone: undefined, keys: undefined };
    }
    if (opts.ivars && !opts.withDebugInfo) {
      for (const k of Object.keys(ivars)) if (!opts.ivars.includes(k)) delete ivars[k];
    }
    info.instance_variables = ivars;
  }
  return info;
}

export function allPluginInfo(engine: PipelineView, opts: InfoOptions = {}): PluginInfo[] {
  return monitoredPlugins(engine).map((p) => pluginInfo(p, opts));
}

/** `?tag=`: the output the root router sends this tag to (Fluentd searches root matches only). */
export function pluginInfoByTag(
  engine: PipelineView,
  tag: string,
  opts: InfoOptions = {},
): PluginInfo | undefined {
  const sink = engine.pipeline('')?.route(tag).sink;
  if (!sink) return undefined;
  const p = engine.plugins.find((x) => x.kind === 'output' && x.id === sink.id);
  return p ? pluginInfo(p, opts) : undefined;
}

/** Fluentd's LTSV rendering: one line per plugin, scalar fields only, null as an empty value. */
export function toLtsv(list: PluginInfo[]): string {
  let text = '';
  for (const info of list) {
    const row: string[] = [];
    for (const [k, v] of Object.entries(info)) {
      if (v !== null && typeof v === 'object') continue;
      row.push(`${k}:${v ?? ''}`);
    }
    text += `${row.join('\t')}\n`;
  }
  return text;
}
