// One input's bound on the memory its clients make it hold before a frame or a request body
// is whole (in_forward's partial frames, in_http's bodies in flight). Each connection or
// request is a holder that claims what it holds; the sum never passes the limit. A claim
// that would pass it first closes the holders that hold the most (a slow sender of a huge
// frame), as long as they hold more than the claimant would; otherwise the claim is refused
// and the claimant closes itself. So small frames keep being served while attackers are cut
// off, and no new memory is taken past the bound.
//
// Memory let go is only given back to the system when V8 collects the Buffers, and V8 runs
// that collection when new memory is allocated, not when a process goes quiet: after 30
// attackers left, 2 GB stayed resident for as long as nothing else happened. So when at least
// RELEASE_COLLECT bytes were let go, the budget asks for one full collection a moment later
// (at most one per COLLECT_EVERY_MS); rare by construction, since it takes that many bytes of
// unfinished frames or bodies to be dropped or finished.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const RELEASE_COLLECT = 64 * 1024 * 1024;
const COLLECT_DELAY_MS = 500;
const COLLECT_EVERY_MS = 5000;

let gcFn: (() => void) | null | undefined;
/** V8's full collection: global.gc when Node runs with --expose-gc, else exposed once here. */
function fullGc(): (() => void) | null {
  if (gcFn !== undefined) return gcFn;
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return (gcFn = g);
  try {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  } catch {
    gcFn = null;
  }
  return gcFn;
}

/** Someone holding memory for a client: a forward connection, an HTTP request. */
export interface BudgetHolder {
  /**
   * Close to free what is held (the budget has already stopped counting it). Returns false
   * when it cannot be closed now (its bytes are being processed, not waiting on a client).
   */
  evict(reason: string): boolean;
}

export class MemoryBudget {
  private readonly held = new Map<BudgetHolder, number>();
  private total = 0;
  /** the highest total seen (for tests and metrics) */
  peak = 0;
  private readonly listeners = new Set<(used: number) => void>();
  /** the highest total since the last collection this budget asked for */
  private highSinceCollect = 0;
  private collectTimer: NodeJS.Timeout | undefined;
  private lastCollect = 0;
  /** full collections asked for (see the top of this file) */
  collections = 0;

  constructor(readonly limit: number) {}

  /** Bytes held now by all holders. */
  get used(): number {
    return this.total;
  }

  /** Holders with bytes counted now. */
  get holders(): number {
    return this.held.size;
  }

  /** What each holder holds now (for tests and monitoring). */
  sizes(): number[] {
    return [...this.held.values()];
  }

  /** Called after every change of the total (tests wait on it; no polling). */
  onChange(fn: (used: number) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Sets what `holder` holds to `bytes`. Returns false, changing nothing for the holder,
   * when that would pass the limit even after closing every larger holder that can be
   * closed; the caller must then refuse (and drop what it meant to hold).
   */
  claim(holder: BudgetHolder, bytes: number): boolean {
    const mine = this.held.get(holder) ?? 0;
    if (bytes <= mine || this.total - mine + bytes <= this.limit) {
      this.set(holder, mine, bytes);
      return true;
    }
    if (bytes > this.limit) return false;
    // Close the largest others that hold more than this claim until it fits.
    const larger = [...this.held].filter(([h, n]) => h !== holder && n > bytes).sort((a, b) => b[1] - a[1]);
    for (const [h, n] of larger) {
      if (this.total - mine + bytes <= this.limit) break;
      if (!this.held.has(h)) continue; // gone while an earlier one closed
      this.set(h, n, 0);
      if (!h.evict(`the input holds ${this.limit} bytes of unfinished frames or bodies`)) this.set(h, 0, n);
    }
    const now = this.held.get(holder) ?? 0;
    if (this.total - now + bytes > this.limit) return false;
    this.set(holder, now, bytes);
    return true;
  }

  /** The holder holds nothing any more (finished, or gone). */
  release(holder: BudgetHolder): void {
    const mine = this.held.get(holder);
    if (mine !== undefined) this.set(holder, mine, 0);
  }

  private collect(): void {
    this.collectTimer = undefined;
    this.lastCollect = Date.now();
    this.highSinceCollect = this.total;
    const gc = fullGc();
    if (!gc) return;
    this.collections++;
    gc();
  }

  private set(holder: BudgetHolder, from: number, to: number): void {
    if (to === 0) this.held.delete(holder);
    else this.held.set(holder, to);
    if (from === to) return;
    this.total += to - from;
    if (this.total > this.peak) this.peak = this.total;
    if (this.total > this.highSinceCollect) this.highSinceCollect = this.total;
    else if (this.highSinceCollect - this.total >= RELEASE_COLLECT && !this.collectTimer) {
      const wait = Math.max(COLLECT_DELAY_MS, this.lastCollect + COLLECT_EVERY_MS - Date.now());
      this.collectTimer = setTimeout(() => this.collect(), wait);
      this.collectTimer.unref();
    }
    for (const fn of this.listeners) fn(this.total);
  }
}
