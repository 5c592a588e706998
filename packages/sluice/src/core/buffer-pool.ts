// Large Buffers kept for reuse. Node frees a Buffer's memory only when V8 collects its
// object, and V8 runs a full collection for dead Buffers only once 64 MiB of new external
// memory has been allocated since the last one: a relay that takes a fresh buffer per chunk
// or per request body carries up to 64 MiB of dead ones, which sets its peak RSS. Written
// by hand: it is a sorted list bound to Sluice's own chunk and request lifecycles.

/** Smaller buffers are not kept (and Node's shared 8 KiB allocation pool never enters). */
export const MIN_POOLED = 64 * 1024;

export class BufferPool {
  /** idle buffers, smallest first */
  private readonly idle: Buffer[] = [];
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param maxIdle at most this many idle buffers are kept (the smallest go first)
   * @param idleMs they are all let go when the pool has not been used for this long
   */
  constructor(
    private readonly maxIdle: number,
    private readonly idleMs = 10_000,
  ) {}

  /** The largest idle buffer if it holds at least `size` bytes. */
  take(size = 0): Buffer | undefined {
    const last = this.idle.length - 1;
    if (last < 0 || this.idle[last]!.length < size) return undefined;
    this.touch();
    return this.idle.pop();
  }

  /**
   * Takes back the memory behind `buf` once nothing reads it any more. Only buffers that
   * own their memory from its start are kept (a view elsewhere would hand out shared memory).
   */
  give(buf: Buffer): void {
    const ab = buf.buffer;
    if (buf.byteOffset !== 0 || ab.byteLength < MIN_POOLED || this.maxIdle === 0) return;
    const whole = buf.length === ab.byteLength ? buf : Buffer.from(ab, 0, ab.byteLength);
    let i = this.idle.length;
    while (i > 0 && this.idle[i - 1]!.length > whole.length) i--;
    this.idle.splice(i, 0, whole);
    if (this.idle.length > this.maxIdle) this.idle.shift();
    this.touch();
  }

  /** Bytes held for reuse. */
  get idleBytes(): number {
    let n = 0;
    for (const b of this.idle) n += b.length;
    return n;
  }

  clear(): void {
    this.idle.length = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private touch(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.idle.length = 0;
    }, this.idleMs);
    this.timer.unref();
  }
}
