import { EventTime } from '@sluice/forward';
import type { EventBatch } from '../../../core/batch.ts';
import type { BatchBuilder } from '../../../core/batch-builder.ts';
import { HoldCounter, holdsInUse, withHoldScope } from '../../../core/holds.ts';
import type { PositionEntry } from './position-file.ts';
import type { TailFile } from './tail-file.ts';

export interface TargetHost {
  readonly writer: BatchBuilder;
  readonly stopping: boolean;
  readonly readLinesLimit: number;
  readonly maxLineSize: number | undefined;
  readonly bytesPerSecond: number | undefined;
  readonly rotateWaitMs: number;
  readonly multilineFlushMs: number | undefined;
  emit(batch: EventBatch): Promise<void>;
  /** the target has worked through a backlog of lines and reached the end of its files */
  caughtUp(tag: string): void;
  /** waits `ms` (or less when stopping) */
  sleep(ms: number): Promise<void>;
  /** schedules `target.kick()` after `ms` */
  kickLater(target: Target, ms: number): void;
  released(target: Target, file: TailFile): void;
  warn(msg: string, extra?: Record<string, unknown>): void;
}

/** Most bytes of entries in one batch. */
const BATCH_BYTES = 4 * 1024 * 1024;
const RETRY_MS = 1000;
/** Longest stretch of reading without letting the event loop run other work. */
const YIELD_EVERY_MS = 10;
/** When the current stretch of reading began (shared by every target of the process). */
let sliceStart = 0;
let turn: Promise<void> | undefined;

/**
 * The next turn of the event loop, one for all targets. Each target awaiting its own
 * setImmediate would not be enough: Node runs every queued immediate, with its microtasks,
 * in the same check phase, so ten busy files would read ten stretches in a row before
 * sockets, timers and finished file reads got their turn.
 */
function nextTurn(): Promise<void> {
  turn ??= new Promise<void>((resolve) =>
    setImmediate(() => {
      turn = undefined;
      sliceStart = performance.now();
      resolve();
    }),
  );
  return turn;
}

/**
 * What one position entry tracks: a path (or, with follow_inodes, an inode) and the
 * files read for it, oldest first: rotated files still being drained, then the
 * current one. One pump per target reads them in that order, one batch at a time;
 * a batch is emitted and, once accepted, its end becomes the committed position.
 * The pos entry always describes the oldest file not yet let go, so a crash while
 * an old file is drained resumes in that old file.
 */
export class Target {
  files: TailFile[] = [];
  private running: Promise<void> | undefined;
  private again = false;
  private windowStart = 0;
  private windowBytes = 0;

  constructor(
    readonly key: string,
    readonly path: string,
    readonly tag: string,
    readonly host: TargetHost,
    public entry: PositionEntry | undefined,
  ) {}

  /** The file at the path now (not rotated), if any. */
  get current(): TailFile | undefined {
    const f = this.files[this.files.length - 1];
    return f && f.rotatedAt === undefined ? f : undefined;
  }

  get idle(): boolean {
    return this.running === undefined;
  }

  /** Runs the pump (or makes the running one go round again). */
  kick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.drain();
        } while (this.again && !this.host.stopping);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  savePosition(): void {
    const f = this.files[0];
    if (f && this.entry) this.entry.update(f.ino, f.committed);
  }

  private budget(now: number): number {
    const limit = this.host.bytesPerSecond;
    if (limit === undefined) return Number.MAX_SAFE_INTEGER;
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.windowBytes = 0;
    }
    return limit - this.windowBytes;
  }

  private async drain(): Promise<void> {
    const h = this.host;
    const w = h.writer;
    // Lines emitted by this drain: at least a full batch means a backlog was read, and the
    // output may send it without waiting out its flush_interval. A trickle gives no hint,
    // or every few new lines would become a chunk of their own.
    let emitted = 0;
    while (!h.stopping) {
      let progressed = false;
      let throttled = false;
      // A line's parts may straddle a rotation: each file's assembler may continue the previous one's.
      for (let i = 0; i < this.files.length; i++) this.files[i]!.follow(this.files[i - 1]);
      for (const f of this.files) {
        const now = Date.now();
        const budget = this.budget(now);
        const t = EventTime.now();
        const r = f.read(
          w,
          { lines: h.readLinesLimit, bytes: BATCH_BYTES, maxLineSize: h.maxLineSize, budget },
          t.sec,
          t.nsec,
        );
        this.windowBytes += r.bytesRead;
        if (budget - r.bytesRead <= 0 && r.lines === 0) throttled = true;
        if (r.lines === 0 && r.bytesRead === 0) continue;
        emitted += w.count;
        await this.emitHeld(f, w);
        this.accept(f, r.commitPos);
        progressed = true;
        // Reads are synchronous and an accepted emit resolves as a microtask, so a
        // backlog would otherwise hold the event loop until the buffer is full: outputs
        // could not flush and other files, sockets and timers would wait. A turn of the
        // loop every few milliseconds is enough; one per batch cost much of the speed
        // (bench/RESULTS.md, "Issue 7, second pass").
        if (performance.now() - sliceStart > YIELD_EVERY_MS) await nextTurn();
        break;
      }
      if (progressed) continue;
      if (await this.flushMultiline()) continue;
      if (await this.releaseDone()) continue;
      if (throttled) h.kickLater(this, 1000 - (Date.now() - this.windowStart));
      else if (emitted >= h.readLinesLimit) h.caughtUp(this.tag);
      return;
    }
  }

  /**
   * Emits the writer's lines in a hold scope (core/holds.ts): when a filter keeps some of
   * them (concat waiting for the rest of an event), the batch is remembered from where its
   * lines began, and the position is not committed past it until every hold is released.
   */
  private async emitHeld(f: TailFile, w: BatchBuilder): Promise<void> {
    if (w.count === 0) return;
    if (!holdsInUse()) return this.emitFrom(w);
    const counter = new HoldCounter(() => {
      this.recommit(f);
      // A rotated file waits for its holds before it is let go.
      if (f.rotatedAt !== undefined) this.host.kickLater(this, 1);
    });
    const from = f.accepted;
    await withHoldScope(counter, () => this.emitFrom(w));
    if (counter.pending > 0) f.holds.push({ from, counter });
  }

  /** The outputs accepted the file up to `pos`: commit it, or up to the oldest batch still held. */
  private accept(f: TailFile, pos: number): void {
    f.accepted = pos;
    this.recommit(f);
  }

  private recommit(f: TailFile): void {
    if (f.holds.length > 0) f.holds = f.holds.filter((h) => h.counter.pending > 0);
    let pos = f.accepted;
    for (const h of f.holds) if (h.from < pos) pos = h.from;
    f.committed = pos;
    this.savePosition();
  }

  /**
   * Emits the writer's lines over the writer's own memory, which it gets back once they
   * were accepted. A refusal while stopping leaves that memory to the collector: an output
   * that accepted them before another refused could still be writing them.
   */
  private async emitFrom(w: BatchBuilder): Promise<void> {
    if (w.count === 0) return;
    const batch = w.lend(this.tag);
    await this.emit(batch);
    w.reclaim(batch);
  }

  /** Emits a batch, retrying (in order, holding the file) while outputs refuse it. */
  private async emit(batch: EventBatch): Promise<void> {
    for (;;) {
      try {
        await this.host.emit(batch);
        return;
      } catch (e) {
        this.host.warn('emit refused; retrying the same lines (position not advanced)', {
          path: this.path,
          error: (e as Error).message,
        });
        if (this.host.stopping) throw e;
        await this.host.sleep(RETRY_MS);
        if (this.host.stopping) throw e;
      }
    }
  }

  private async flushMultiline(): Promise<boolean> {
    const ms = this.host.multilineFlushMs;
    if (ms === undefined) return false;
    const now = Date.now();
    for (const f of this.files) {
      if (!f.hasPendingEvent || !f.eof) continue;
      const idle = now - f.pendingSince;
      if (idle < ms) {
        this.host.kickLater(this, ms - idle);
        continue;
      }
      await this.flushPending(f);
      return true;
    }
    return false;
  }

  /** Emits a file's pending multiline event and commits past it. */
  async flushPending(f: TailFile): Promise<void> {
    const w = this.host.writer;
    const t = EventTime.now();
    f.flushPending(w, t.sec, t.nsec);
    await this.emitHeld(f, w);
    this.accept(f, f.resumePos());
  }

  /** Lets go of rotated files that are read to their end and past rotate_wait. */
  private async releaseDone(): Promise<boolean> {
    const now = Date.now();
    for (let i = 0; i < this.files.length; i++) {
      const f = this.files[i]!;
      if (f.rotatedAt === undefined) continue;
      const waited = now - f.rotatedAt >= this.host.rotateWaitMs;
      if (!(f.exhausted || (f.eof && (f.finalAtEof || waited)))) {
        if (f.eof) this.host.kickLater(this, this.host.rotateWaitMs - (now - f.rotatedAt));
        continue;
      }
      // Lines a filter still holds keep the file (and its position) until they have gone on;
      // so does the next file while inside a line whose first parts are in this one.
      if (f.held || this.files[i + 1]?.continuesPrevious) continue;
      const w = this.host.writer;
      const t = EventTime.now();
      f.drainRest(w, t.sec, t.nsec);
      await this.emitHeld(f, w);
      this.accept(f, f.readPos);
      if (f.held) return true;
      this.files.splice(this.files.indexOf(f), 1);
      f.release();
      this.savePosition();
      this.host.released(this, f);
      return true;
    }
    return false;
  }
}
