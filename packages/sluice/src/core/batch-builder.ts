import { EventBatch } from './batch.ts';
import { EntryWriter } from './entry-writer.ts';

export * from './entry-writer.ts';

/** Memory lent batches gave back, kept for the next batches (one per file being read, roughly). */
const MAX_SPARES = 4;

/**
 * The one builder of batches for every input and filter: an EntryWriter (which writes the
 * entries' bytes) that hands what it wrote on as EventBatches. The writer is its own
 * module so that EventBatch.fromEntries can use it without an import cycle.
 */
export class BatchBuilder extends EntryWriter {
  /** whole buffers of lent batches, given back by reclaim() */
  private readonly spares: Buffer[] = [];
  /** memory lent out that the builder owned whole (not a slice of Node's shared pool) */
  private readonly lent = new WeakSet<ArrayBufferLike>();

  /** The batch so far, as an EventBatch that owns its bytes; the builder is reset for reuse. */
  take(tag: string): EventBatch {
    const count = this.count;
    return new EventBatch(tag, this.finish(), count);
  }

  /**
   * The batch so far over the builder's own memory, without take()'s copy; the builder goes
   * on in other memory. Give the batch back with reclaim() once its emit has resolved:
   * outputs copy what they keep by then (ARCHITECTURE.md, "the emit contract"). Copying
   * each tail read into a fresh Buffer and collecting it was a large share of the agent's
   * CPU (bench/RESULTS.md, "Issue 7, eighth pass").
   */
  lend(tag: string): EventBatch {
    const b = this.buf;
    // Only memory the builder owns whole may come back as a spare: a small buffer can be a
    // slice of Node's shared allocation pool, which other code writes into.
    if (b.byteOffset === 0 && b.length === b.buffer.byteLength) this.lent.add(b.buffer);
    const batch = new EventBatch(tag, b.subarray(0, this.len), this.count);
    this.buf = this.spares.pop() ?? Buffer.allocUnsafe(b.length);
    this.len = 0;
    this.count = 0;
    return batch;
  }

  /** Takes back the memory of a batch from lend() whose emit has resolved: nothing reads it now. */
  reclaim(batch: EventBatch): void {
    const ab = batch.bytes.buffer;
    if (!this.lent.delete(ab)) return;
    if (this.spares.length < MAX_SPARES) this.spares.push(Buffer.from(ab, 0, ab.byteLength));
  }
}
