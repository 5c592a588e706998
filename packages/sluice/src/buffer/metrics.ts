// What a buffered output reports (monitor_agent, /metrics, the dashboard): counters the
// engine bumps as it goes, plus a snapshot of the queue and the retry state.
import type { ChunkQueue } from './chunk-queue.ts';
import type { RetryState } from './retry-state.ts';

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

export function snapshot(
  counters: BufferCounters,
  chunks: ChunkQueue,
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
