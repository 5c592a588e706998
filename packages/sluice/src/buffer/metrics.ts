// What a buffered output reports (monitor_agent, /metrics, the dashboard): counters the
// engine bumps as it goes, plus a snapshot of the queue and the retry state.
import type { BufferMetrics } from '../core/pipeline-view.ts';
import type { RetryState } from './retry-state.ts';

export type { BufferMetrics };

/** The part of the metrics that only ever counts up (and the last error seen). */
export type BufferCounters = Pick<
  BufferMetrics,
  | 'emitCount'
  | 'emitRecords'
  | 'writeCount'
  | 'writeRecords'
  | 'retryCount'
  | 'dropCount'
  | 'backupCount'
  | 'secondaryCount'
  | 'lastError'
>;

export function newCounters(): BufferCounters {
  return {
    emitCount: 0,
    emitRecords: 0,
    writeCount: 0,
    writeRecords: 0,
    retryCount: 0,
    dropCount: 0,
    backupCount: 0,
    secondaryCount: 0,
    lastError: undefined,
  };
}

/** What a snapshot reads of the chunk queue (chunk-queue.ts), declared here so neither imports the other. */
export interface QueueState {
  readonly stagedBytes: number;
  readonly queuedBytes: number;
  readonly staged: { readonly size: number };
  readonly queue: { readonly length: number };
  readonly flushing: { readonly size: number };
  oldestCreatedAt(): number | undefined;
}

export function snapshot(
  counters: BufferCounters,
  chunks: QueueState,
  retry: RetryState | undefined,
  nowMs: number,
): BufferMetrics {
  const oldest = chunks.oldestCreatedAt();
  return {
    ...counters,
    stagedBytes: chunks.stagedBytes,
    stagedChunks: chunks.staged.size,
    queuedBytes: chunks.queuedBytes,
    queuedChunks: chunks.queue.length + chunks.flushing.size,
    nextRetryAt: retry ? retry.nextTime * 1000 : undefined,
    retryStartAt: retry ? retry.start * 1000 : undefined,
    retrySteps: retry?.steps ?? 0,
    oldestChunkAgeMs: oldest === undefined ? undefined : nowMs - oldest,
  };
}
