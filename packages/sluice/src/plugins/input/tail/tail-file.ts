import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { BatchBuilder } from '../../../core/batch-builder.ts';
import type { HoldCounter } from '../../../core/holds.ts';
import {
  type LineEncoder,
  type LineSource,
  lineText,
  NoneEncoder,
} from '../../../shared/lines/line-encoder.ts';
import type { LineAssembler } from '../../../shared/lines/multiline.ts';

/** Size of one read; large reads keep syscalls and per-read work rare. */
export const READ_SIZE = 1024 * 1024;
/** Bytes remembered before the read position, to recognise a copytruncate copy. */
const TAIL_KEEP = 128;

// Read buffers are lent to files only while they have bytes to process, so a thousand
// idle files do not hold a thousand megabytes.
const pool: Buffer[] = [];
function borrow(): Buffer {
  return pool.pop() ?? Buffer.allocUnsafe(READ_SIZE);
}
function giveBack(b: Buffer): void {
  if (b.length === READ_SIZE && pool.length < 8) pool.push(b);
}

export interface ReadLimits {
  lines: number;
  bytes: number;
  maxLineSize?: number;
  /** bytes this read may still take under read_bytes_limit_per_second */
  budget: number;
}

export interface ReadResult {
  /** lines consumed (emitted, skipped or held by multiline) */
  lines: number;
  /** bytes read from the file by this call */
  bytesRead: number;
  /** the position it is safe to resume at once the batch is accepted */
  commitPos: number;
}

/**
 * One open file (one inode) being read. `readPos` is the file offset of the next read;
 * bytes read but not yet turned into entries stay in `buf[start, end)`, so they map to
 * file offsets `[readPos - (end - start), readPos)`. `committed` only moves when the
 * owner says a batch was accepted.
 */
export class TailFile {
  fd = -1;
  readPos: number;
  committed: number;
  /** the position the outputs accepted; `committed` stays behind it while a filter holds lines */
  accepted: number;
  /** batches of this file with lines a filter (concat) still holds: where each began */
  holds: { from: number; counter: HoldCounter }[] = [];
  private buf: Buffer | undefined;
  private start = 0;
  private end = 0;
  /** inside an over-long line that is being skipped up to its newline */
  private skipping = false;
  /** the last bytes read before readPos */
  tail: Buffer = Buffer.alloc(0);
  /** a read returned no bytes (cleared by the next read that gets some) */
  eof = false;
  /** no more bytes can come from this file (truncated away, or a drained copy) */
  exhausted = false;
  /** the encoder's loop over a whole read, for `none` lines (see NoneEncoder.lines) */
  private readonly fast: NoneEncoder | undefined;
  /** Date.now() when rotation was detected; the file is let go rotate_wait later */
  rotatedAt: number | undefined;
  /** let go as soon as it is read to its end (a copytruncate copy does not grow) */
  finalAtEof = false;

  constructor(
    /** the path it was opened by (reopened by open_on_every_update) */
    public openPath: string,
    readonly ino: bigint,
    pos: number,
    readonly src: LineSource,
    private readonly encoder: LineEncoder,
    private readonly eol: Buffer,
    private readonly multiline: LineAssembler | undefined,
    private readonly opts: {
      fromEncoding?: string;
      openOnEveryUpdate: boolean;
      warn(msg: string, extra?: Record<string, unknown>): void;
    },
  ) {
    this.readPos = pos;
    this.committed = pos;
    this.accepted = pos;
    if (
      encoder instanceof NoneEncoder &&
      !multiline &&
      !opts.fromEncoding &&
      eol.length === 1 &&
      eol[0] === 10
    )
      this.fast = encoder;
  }

  /** Opens the file and checks it is still the inode this reader is for. */
  open(): boolean {
    if (this.fd >= 0) return true;
    let fd = -1;
    try {
      fd = openSync(this.openPath, 'r');
      if (fstatSync(fd, { bigint: true }).ino !== this.ino) {
        closeSync(fd);
        return false;
      }
    } catch {
      if (fd >= 0) closeSync(fd);
      return false;
    }
    this.fd = fd;
    return true;
  }

  /** Switches to reading another descriptor at the same offsets (a copytruncate copy). */
  replaceFd(fd: number): void {
    this.closeFd();
    this.fd = fd;
    this.exhausted = false;
    this.eof = false;
  }

  closeFd(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  size(): number | undefined {
    if (this.fd < 0) return undefined;
    try {
      return Number(fstatSync(this.fd).size);
    } catch {
      return undefined;
    }
  }

  /** Bytes read from the file but not yet consumed as lines (a partial line, or lines past a batch limit). */
  get buffered(): number {
    return this.end - this.start;
  }

  /** Links this file's line assembler to that of the file read before it for the same path. */
  follow(prev: TailFile | undefined): void {
    this.multiline?.follow?.(prev?.multiline);
  }

  /** inside a line begun in the file before it (CRI parts): that file is not let go yet */
  get continuesPrevious(): boolean {
    return this.multiline?.continuesPrevious ?? false;
  }

  /** a filter still holds lines of this file: the position stays before them */
  get held(): boolean {
    return this.holds.some((h) => h.counter.pending > 0);
  }

  get hasPendingEvent(): boolean {
    return this.multiline?.hasPending ?? false;
  }

  /** whether a held event is emitted at shutdown (multiline) or left to be read again (CRI partials) */
  get flushesAtStop(): boolean {
    return this.multiline?.flushAtStop ?? false;
  }

  /** Date.now() of the last line added to the pending multiline event */
  get pendingSince(): number {
    return this.multiline?.lastLineAt ?? 0;
  }

  /**
   * Reads and encodes lines into `w` until a limit is reached or the file has no more
   * complete lines. Synchronous: reads of a local file come from the page cache and
   * are cheaper than a thread-pool round trip.
   */
  read(w: BatchBuilder, lim: ReadLimits, sec: number, nsec: number): ReadResult {
    let lines = 0;
    let bytesRead = 0;
    const single = this.eol.length === 1;
    const nlByte = this.eol[0]!;
    const eolLen = this.eol.length;
    for (;;) {
      const b = this.buf;
      if (b !== undefined) {
        let s = this.start;
        const e = this.end;
        if (this.fast !== undefined && !this.skipping) {
          s = this.fast.lines(w, b, s, e, this.src, sec, nsec, lim.lines - lines, lim.bytes, lim.maxLineSize);
          lines += this.fast.encoded;
        }
        // The general loop: multiline, other encoders and line ends, and a line the fast
        // loop stopped before (longer than max_line_size).
        while (lines < lim.lines && w.len < lim.bytes) {
          const nl = single ? b.indexOf(nlByte, s) : b.indexOf(this.eol, s);
          if (nl < 0 || nl >= e) break;
          const lineOffset = this.readPos - (e - s);
          if (this.skipping) this.skipping = false;
          else if (lim.maxLineSize !== undefined && nl - s > lim.maxLineSize) this.warnLong(nl - s);
          else this.emitLine(w, b, s, nl, lineOffset, sec, nsec);
          s = nl + eolLen;
          lines++;
        }
        this.start = s;
        if (lines >= lim.lines || w.len >= lim.bytes) break;
      }
      if (this.exhausted) break;
      if (this.fd < 0 && !(this.opts.openOnEveryUpdate && this.open())) break;
      const want = this.makeRoom(lim.maxLineSize);
      const n = Math.min(want, lim.budget - bytesRead);
      if (n <= 0) break;
      const got = readSync(this.fd, this.buf!, this.end, n, this.readPos);
      if (got === 0) {
        this.eof = true;
        break;
      }
      this.eof = false;
      this.readPos += got;
      this.end += got;
      bytesRead += got;
      this.rememberTail();
    }
    if (this.eof && this.start === this.end && this.buf !== undefined) {
      giveBack(this.buf);
      this.buf = undefined;
      this.start = this.end = 0;
    }
    if (this.eof && this.opts.openOnEveryUpdate) this.closeFd();
    return { lines, bytesRead, commitPos: this.resumePos() };
  }

  /** Where to resume after a restart: before the pending partial line and multiline event. */
  resumePos(): number {
    const afterLines = this.readPos - (this.end - this.start);
    if (this.multiline?.hasPending) return Math.min(afterLines, this.multiline.pendingStart);
    return afterLines;
  }

  /**
   * Emits what is left when the file is let go: a last line without newline and a
   * pending multiline event (the writer is done with this file; they would be lost).
   */
  drainRest(w: BatchBuilder, sec: number, nsec: number): void {
    if (this.buf !== undefined && this.end > this.start && !this.skipping) {
      const b = this.buf;
      this.emitLine(w, b, this.start, this.end, this.readPos - (this.end - this.start), sec, nsec);
      this.start = this.end;
    }
    this.flushPending(w, sec, nsec);
  }

  /** Emits a pending multiline event or held CRI partials (multiline_flush_interval, shutdown, release). */
  flushPending(w: BatchBuilder, sec: number, nsec: number): void {
    if (this.multiline === undefined) return;
    for (const text of this.multiline.takeAll()) this.encoder.text(w, text, this.src, sec, nsec);
  }

  release(): void {
    this.closeFd();
    if (this.buf) giveBack(this.buf);
    this.buf = undefined;
    this.start = this.end = 0;
  }

  private emitLine(
    w: BatchBuilder,
    b: Buffer,
    s: number,
    e: number,
    offset: number,
    sec: number,
    nsec: number,
  ): void {
    if (
      this.multiline === undefined ||
      (this.opts.fromEncoding === undefined && this.multiline.passes?.(b, s, e) === true)
    ) {
      this.encoder.line(w, b, s, e, this.src, sec, nsec);
      return;
    }
    const done = this.multiline.add(lineText(b, s, e, this.opts.fromEncoding), offset, Date.now());
    if (done !== undefined) this.encoder.text(w, done, this.src, sec, nsec);
  }

  private warnLong(len: number): void {
    this.opts.warn('skipped a line longer than max_line_size', { path: this.src.path, bytes: len });
  }

  /** Makes free space after `end` and returns how much; grows the buffer for a long line. */
  private makeRoom(maxLineSize: number | undefined): number {
    if (this.buf === undefined) {
      this.buf = borrow();
      this.start = this.end = 0;
    }
    let b = this.buf;
    if (this.start > 0 && (this.end === this.start || b.length - this.end < b.length / 4)) {
      b.copy(b, 0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    if (this.end === b.length) {
      if (maxLineSize !== undefined && this.end - this.start > maxLineSize) {
        // The line is already too long: drop what we have and skip to its newline.
        if (!this.skipping) this.warnLong(this.end - this.start);
        this.skipping = true;
        this.start = this.end = 0;
      } else {
        const next = Buffer.allocUnsafe(b.length * 2);
        b.copy(next, 0, this.start, this.end);
        this.end -= this.start;
        this.start = 0;
        this.buf = b = next;
      }
    }
    return b.length - this.end;
  }

  private rememberTail(): void {
    const b = this.buf!;
    const from = Math.max(0, this.end - TAIL_KEEP);
    if (this.end - from >= TAIL_KEEP || this.tail.length === 0) {
      this.tail = Buffer.from(b.subarray(from, this.end));
    } else {
      this.tail = Buffer.concat([this.tail, b.subarray(from, this.end)]).subarray(-TAIL_KEEP);
    }
  }
}
