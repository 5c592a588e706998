import type { EventBatch } from '../../core/batch.ts';
import { BatchBuilder } from '../../core/batch-builder.ts';
import type { PluginContext } from '../../core/plugin.ts';

/**
 * The events read from one connection (or one round of datagrams), a builder per tag
 * (in_syslog's tags vary with facility and severity). Emitted together; the builders lend
 * their memory to the batches and take it back once the outputs accepted them.
 */
export class TagBatches {
  private readonly builders = new Map<string, BatchBuilder>();
  /** the builder of the last tag asked for (most messages of a read share one) */
  private lastTag: string | undefined;
  private lastBuilder: BatchBuilder | undefined;
  count = 0;

  constructor(private readonly initial = 4096) {}

  builder(tag: string): BatchBuilder {
    if (tag === this.lastTag) return this.lastBuilder!;
    let b = this.builders.get(tag);
    if (!b) {
      // Bounded: a client sending every facility and severity makes at most 24*8 tags.
      if (this.builders.size >= 256) this.drop();
      b = new BatchBuilder(this.initial);
      this.builders.set(tag, b);
    }
    this.lastTag = tag;
    this.lastBuilder = b;
    return b;
  }

  /** Adds one event under `tag`. */
  add(tag: string, sec: number, nsec: number, record: Record<string, unknown>): void {
    const w = this.builder(tag);
    w.beginEntry(sec, nsec);
    w.record(record);
    this.count++;
  }

  /** Forgets builders that hold nothing (their tags may not come back). */
  private drop(): void {
    for (const [t, b] of this.builders) if (b.count === 0) this.builders.delete(t);
    this.lastTag = undefined;
    this.lastBuilder = undefined;
  }

  /**
   * Emits every non-empty batch; resolves once all were accepted, rejects with the first
   * refusal (after every emit settled). Events of a refused batch are the caller's to report.
   */
  async emit(ctx: PluginContext): Promise<{ refused: number; error?: Error }> {
    const out: [BatchBuilder, EventBatch][] = [];
    for (const [tag, b] of this.builders) if (b.count > 0) out.push([b, b.lend(tag)]);
    this.count = 0;
    if (out.length === 0) return { refused: 0 };
    const results = await Promise.allSettled(out.map(([, batch]) => ctx.emit(batch)));
    let refused = 0;
    let error: Error | undefined;
    results.forEach((r, i) => {
      const [b, batch] = out[i]!;
      if (r.status === 'fulfilled') b.reclaim(batch);
      else {
        // Not reclaimed: an output that accepted it before another refused may still read it.
        refused += batch.count;
        error ??= r.reason as Error;
      }
    });
    return { refused, error };
  }
}
