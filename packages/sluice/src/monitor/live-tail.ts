// The dashboard's live tail: a tap on every label's router that copies a few events of the
// tags a viewer asked for. It can never slow the pipeline: no tap is installed while nobody
// watches; each viewer has a token bucket (events/s) and at most a few events are decoded
// per batch; lines are size-capped; a viewer whose socket is not draining gets nothing more
// until it does (what it missed is counted, not queued).
import { type EventTime, unpackr } from '@sluice/forward';
import type { EventBatch } from '../core/batch.ts';
import { compilePattern } from '../core/match-pattern.ts';
import type { PipelineView, Tap } from '../core/pipeline-view.ts';
import { compileStrftime } from '../time/time-format.ts';
import { labelNames } from './metrics.ts';

export interface TailLine {
  tag: string;
  label: string;
  time: string;
  record: string;
  truncated: boolean;
}

export interface TailViewer {
  pattern: string;
  /** true when the viewer can take a line now (its socket is draining) */
  writable(): boolean;
  send(line: TailLine): void;
  /** events that matched but were not sent (rate limit or slow socket) */
  skipped: number;
  sent: number;
}

export interface TailLimits {
  /** events per second per viewer */
  rate: number;
  /** characters of a record's JSON kept per line */
  maxRecordChars: number;
  /** events decoded per batch per viewer */
  perBatch: number;
}

interface Entry {
  viewer: TailViewer;
  match: (tag: string) => boolean;
  tokens: number;
  refilledAt: number;
}

const isoNanos = compileStrftime('%Y-%m-%dT%H:%M:%S.%NZ', { utc: true });

function isoTime(t: unknown): string {
  if (t && typeof t === 'object' && 'sec' in t && 'nsec' in t) return isoNanos(t as EventTime);
  if (typeof t === 'number') return new Date(t * 1000).toISOString();
  return String(t);
}

export class LiveTail {
  private readonly viewers = new Set<Entry>();
  private readonly tap: Tap = (label, batch) => this.onBatch(label, batch);
  private installed: string[] = [];

  constructor(
    private readonly engine: PipelineView,
    private readonly limits: TailLimits,
  ) {}

  /** Adds a viewer; throws a ConfigError-like Error on a bad pattern. Returns its remover. */
  add(viewer: TailViewer): () => void {
    const e: Entry = {
      viewer,
      match: compilePattern(viewer.pattern),
      tokens: this.limits.rate,
      refilledAt: Date.now(),
    };
    this.viewers.add(e);
    if (this.installed.length === 0) this.install();
    return () => {
      this.viewers.delete(e);
      if (this.viewers.size === 0) this.uninstall();
    };
  }

  get size(): number {
    return this.viewers.size;
  }

  private install() {
    this.installed = labelNames(this.engine);
    for (const l of this.installed) this.engine.pipeline(l)?.taps.add(this.tap);
  }

  private uninstall() {
    for (const l of this.installed) this.engine.pipeline(l)?.taps.delete(this.tap);
    this.installed = [];
  }

  close(): void {
    this.viewers.clear();
    this.uninstall();
  }

  private onBatch(label: string, batch: EventBatch) {
    let now = 0;
    for (const e of this.viewers) {
      if (!e.match(batch.tag)) continue;
      if (now === 0) now = Date.now();
      const elapsed = now - e.refilledAt;
      if (elapsed > 0) {
        e.tokens = Math.min(this.limits.rate, e.tokens + (elapsed * this.limits.rate) / 1000);
        e.refilledAt = now;
      }
      const want = Math.min(batch.count, this.limits.perBatch, Math.floor(e.tokens));
      if (want <= 0 || !e.viewer.writable()) {
        e.viewer.skipped += batch.count;
        continue;
      }
      e.tokens -= want;
      e.viewer.skipped += batch.count - want;
      this.sendFirst(e.viewer, label, batch, want);
    }
  }

  private sendFirst(viewer: TailViewer, label: string, batch: EventBatch, n: number) {
    let left = n;
    try {
      // Decode only the first n entries: the rest of the batch is never looked at.
      unpackr.unpackMultiple(batch.bytes, (value: unknown) => {
        const [time, record] = Array.isArray(value) ? value : [undefined, value];
        let json = JSON.stringify(record) ?? 'null';
        const truncated = json.length > this.limits.maxRecordChars;
        if (truncated) json = `${json.slice(0, this.limits.maxRecordChars)}…`;
        viewer.send({ tag: batch.tag, label, time: isoTime(time), record: json, truncated });
        viewer.sent++;
        return --left > 0;
      });
    } catch {
      // A malformed batch is the pipeline's business (it reports it); the tail skips it.
    }
  }
}
