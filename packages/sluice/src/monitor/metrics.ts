// Prometheus metrics of a running engine. Values are read from the engine's counters and
// buffer metrics when /metrics is scraped (prom-client `collect`), so the pipeline does no
// extra work per event for them. Names follow fluent-plugin-prometheus where it has one
// (fluentd_output_status_*), and sluice_* for the rest (see docs/operations.md).
import client from 'prom-client';
import type { BufferMetrics } from '../buffer/buffered-output.ts';
import type { PipelineView, PluginView } from '../core/pipeline-view.ts';

type Labels = Record<string, string>;

let processRegistry: client.Registry | undefined;

/** Process metrics (CPU, memory, event loop, GC): registered once per process, shared by every scrape. */
function processMetrics(): client.Registry {
  if (!processRegistry) {
    processRegistry = new client.Registry();
    client.collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export interface EngineMetrics {
  readonly contentType: string;
  text(): Promise<string>;
}

function labelsOf(p: PluginView): Labels {
  return { plugin_id: p.id, type: p.type };
}

/** Builds a registry whose every metric is computed from `engine` at scrape time. */
export function engineMetrics(engine: PipelineView, opts: { processMetrics?: boolean } = {}): EngineMetrics {
  const registry = new client.Registry();
  const outputs = () => engine.plugins.filter((p) => p.kind === 'output');
  const buffered = () => outputs().filter((p) => p.output?.buffer !== undefined);
  const ofKind = (kind: string) => engine.plugins.filter((p) => p.kind === kind);

  const gauge = (
    name: string,
    help: string,
    read: (set: (l: Labels, v: number) => void) => void,
    extra: string[] = [],
  ) =>
    new client.Gauge({
      name,
      help,
      labelNames: ['plugin_id', 'type', ...extra],
      registers: [registry],
      collect() {
        this.reset();
        read((l, v) => this.set(l, v));
      },
    });
  const counter = (
    name: string,
    help: string,
    read: (set: (l: Labels, v: number) => void) => void,
    labelNames = ['plugin_id', 'type'],
  ) =>
    new client.Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        // The engine keeps the running totals; a counter is re-read, never incremented here.
        this.reset();
        read((l, v) => this.inc(l, v));
      },
    });
  const eachBuffer = (f: (p: PluginView, m: BufferMetrics) => void) => {
    for (const p of buffered()) f(p, p.output!.buffer!.metrics());
  };
  const bufferGauge = (
    name: string,
    help: string,
    pick: (m: BufferMetrics, limit: number) => number | undefined,
  ) =>
    gauge(name, help, (set) =>
      eachBuffer((p, m) => {
        const v = pick(m, p.output!.buffer!.config.totalLimitSize);
        if (v !== undefined) set(labelsOf(p), v);
      }),
    );

  // fluent-plugin-prometheus (prometheus_output_monitor) names, as gauges like theirs.
  bufferGauge(
    'fluentd_output_status_buffer_total_bytes',
    'Current total size of stage and queue buffers.',
    (m) => m.stagedBytes + m.queuedBytes,
  );
  bufferGauge(
    'fluentd_output_status_buffer_stage_length',
    'Current length of stage buffers.',
    (m) => m.stagedChunks,
  );
  bufferGauge(
    'fluentd_output_status_buffer_stage_byte_size',
    'Current total size of stage buffers.',
    (m) => m.stagedBytes,
  );
  bufferGauge(
    'fluentd_output_status_buffer_queue_length',
    'Current length of queue buffers.',
    (m) => m.queuedChunks,
  );
  bufferGauge(
    'fluentd_output_status_queue_byte_size',
    'Current total size of queue buffers.',
    (m) => m.queuedBytes,
  );
  bufferGauge(
    'fluentd_output_status_buffer_available_space_ratio',
    'Ratio of available space in buffer.',
    (m, limit) => (limit > 0 ? Math.max(0, 100 * (1 - (m.stagedBytes + m.queuedBytes) / limit)) : 100),
  );
  bufferGauge('fluentd_output_status_retry_count', 'Current retry counts.', (m) => m.retryCount);
  bufferGauge('fluentd_output_status_num_errors', 'Current number of errors.', (m) => m.retryCount);
  bufferGauge(
    'fluentd_output_status_write_count',
    'Current write counts.',
    (m) => m.writeCount + m.retryCount,
  );
  bufferGauge('fluentd_output_status_rollback_count', 'Current rollback counts.', (m) => m.retryCount);
  bufferGauge('fluentd_output_status_retry_wait', 'Current retry wait', (m) =>
    m.nextRetryAt !== undefined && m.retryStartAt !== undefined ? (m.nextRetryAt - m.retryStartAt) / 1000 : 0,
  );
  gauge('fluentd_output_status_emit_count', 'Current emit counts.', (set) => {
    for (const p of outputs())
      set(labelsOf(p), p.output?.buffer?.metrics().emitCount ?? p.ctx.metrics.emitCount);
  });
  gauge('fluentd_output_status_emit_records', 'Current emit records.', (set) => {
    for (const p of outputs())
      set(labelsOf(p), p.output?.buffer?.metrics().emitRecords ?? p.ctx.metrics.emitRecords);
  });

  // Sluice's own names.
  counter('sluice_input_records_total', 'Records an input emitted into the pipeline.', (set) => {
    for (const p of ofKind('input')) set(labelsOf(p), p.ctx.metrics.emitRecords);
  });
  counter('sluice_input_bytes_total', 'Bytes (msgpack) of the records an input emitted.', (set) => {
    for (const p of ofKind('input')) set(labelsOf(p), p.ctx.metrics.emitSize ?? 0);
  });
  counter('sluice_input_batches_total', 'Batches an input emitted.', (set) => {
    for (const p of ofKind('input')) set(labelsOf(p), p.ctx.metrics.emitCount);
  });
  counter('sluice_filter_records_in_total', 'Records that entered a filter.', (set) => {
    for (const p of ofKind('filter')) set(labelsOf(p), p.ctx.metrics.emitRecords);
  });
  counter('sluice_filter_records_out_total', 'Records a filter passed on.', (set) => {
    for (const p of ofKind('filter')) set(labelsOf(p), (p.ctx.metrics.outRecords as number | undefined) ?? 0);
  });
  counter(
    'sluice_output_records_in_total',
    'Records routed to an output (accepted into its buffer, or processed when unbuffered).',
    (set) => {
      for (const p of outputs())
        set(labelsOf(p), p.output?.buffer?.metrics().emitRecords ?? p.ctx.metrics.emitRecords);
    },
  );
  counter(
    'sluice_output_records_written_total',
    'Records an output delivered (buffered: chunks written; unbuffered: processed).',
    (set) => {
      for (const p of outputs())
        set(labelsOf(p), p.output?.buffer?.metrics().writeRecords ?? p.ctx.metrics.emitRecords);
    },
  );
  counter(
    'sluice_output_write_errors_total',
    'Failed chunk writes (each one is retried or dropped).',
    (set) => eachBuffer((p, m) => set(labelsOf(p), m.retryCount)),
  );
  counter(
    'sluice_output_dropped_records_total',
    'Records dropped: drop_oldest_chunk, retries exhausted, fatal write errors, oversized records.',
    (set) => eachBuffer((p, m) => set(labelsOf(p), m.dropCount)),
  );
  counter(
    'sluice_output_documents_total',
    'Documents an output sent, by outcome (out_elasticsearch: stored, duplicate = already stored, retried = refused for now and sent again alone, rejected = to @ERROR).',
    (set) => {
      for (const p of outputs())
        for (const [k, v] of Object.entries(p.ctx.metrics))
          if (k.startsWith('documents_') && typeof v === 'number')
            set({ ...labelsOf(p), outcome: k.slice('documents_'.length) }, v);
    },
    ['plugin_id', 'type', 'outcome'],
  );
  counter('sluice_output_secondary_writes_total', 'Chunks written to <secondary>.', (set) =>
    eachBuffer((p, m) => set(labelsOf(p), m.secondaryCount)),
  );
  counter('sluice_output_backup_chunks_total', 'Chunks backed up after an unrecoverable error.', (set) =>
    eachBuffer((p, m) => set(labelsOf(p), m.backupCount)),
  );
  gauge('sluice_output_retrying', '1 while an output is retrying a failed write, else 0.', (set) =>
    eachBuffer((p, m) => set(labelsOf(p), m.nextRetryAt !== undefined ? 1 : 0)),
  );
  gauge('sluice_output_retry_steps', 'Failures in the current retry run (0 when not retrying).', (set) =>
    eachBuffer((p, m) => set(labelsOf(p), m.retrySteps ?? 0)),
  );
  gauge(
    'sluice_output_next_retry_timestamp_seconds',
    'When the next retry is due (Unix time), while retrying.',
    (set) =>
      eachBuffer((p, m) => {
        if (m.nextRetryAt !== undefined) set(labelsOf(p), m.nextRetryAt / 1000);
      }),
  );
  gauge(
    'sluice_output_buffer_bytes',
    'Bytes in an output buffer, by state (staged: being filled; queued: waiting for or in a write).',
    (set) =>
      eachBuffer((p, m) => {
        set({ ...labelsOf(p), state: 'staged' }, m.stagedBytes);
        set({ ...labelsOf(p), state: 'queued' }, m.queuedBytes);
      }),
    ['state'],
  );
  gauge(
    'sluice_output_buffer_chunks',
    'Chunks in an output buffer, by state.',
    (set) =>
      eachBuffer((p, m) => {
        set({ ...labelsOf(p), state: 'staged' }, m.stagedChunks);
        set({ ...labelsOf(p), state: 'queued' }, m.queuedChunks);
      }),
    ['state'],
  );
  gauge('sluice_output_buffer_limit_bytes', 'total_limit_size of an output buffer.', (set) =>
    eachBuffer((p) => set(labelsOf(p), p.output!.buffer!.config.totalLimitSize)),
  );
  gauge(
    'sluice_output_buffer_oldest_chunk_age_seconds',
    'Age of the oldest chunk in an output buffer (absent when empty).',
    (set) =>
      eachBuffer((p, m) => {
        if (m.oldestChunkAgeMs !== undefined) set(labelsOf(p), m.oldestChunkAgeMs / 1000);
      }),
  );
  new client.Counter({
    name: 'sluice_router_unmatched_records_total',
    help: 'Records no <match> took, by label ("" = root).',
    labelNames: ['label'],
    registers: [registry],
    collect() {
      this.reset();
      for (const l of labelNames(engine)) this.inc({ label: l }, engine.pipeline(l)?.unmatchedRecords ?? 0);
    },
  });
  new client.Gauge({
    name: 'sluice_ready',
    help: '1 once every plugin has started and the engine is not stopping.',
    registers: [registry],
    collect() {
      this.set(engine.ready ? 1 : 0);
    },
  });

  const withProcess = opts.processMetrics !== false;
  return {
    contentType: registry.contentType,
    async text() {
      const own = await registry.metrics();
      return withProcess ? `${await processMetrics().metrics()}\n${own}` : own;
    },
  };
}

/** Router label names ('' = root) of a running engine. */
export function labelNames(engine: PipelineView): string[] {
  return engine.graph().labels.map((l) => (l.name === '(root)' ? '' : l.name));
}
