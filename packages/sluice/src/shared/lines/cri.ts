import { criFields, isPartialTag, splitCri } from '../parse/cri.ts';
import type { LineAssembler } from './multiline.ts';

interface Held {
  /** the time field of the first part */
  time: string;
  parts: string[];
  /** file offset of the first part's line */
  start: number;
  /** UTF-8 bytes of the parts (for max_line_size) */
  bytes: number;
}

/**
 * Joins CRI partial lines (`<parse> @type cri`, join_partials): containerd and CRI-O
 * split a long line into `P` lines ended by an `F` line, and stdout and stderr may
 * interleave, so parts are held per stream (one assembler per file). The `F` line
 * completes its stream's parts into one line, `FIRST_TIME STREAM F PART1PART2...`, which
 * the cri parser then reads as any line. Lines that are not CRI lines, and `F` lines
 * with nothing held, pass through unchanged.
 *
 * The position: `pendingStart` is where the current stretch with a stream inside a line
 * began, so the tail commits no further; after a restart the parts are read again and
 * joined whole, and no line is resumed in its middle. A line
 * whose parts straddle a rotation (P in the renamed file, F in the new one) is joined
 * too: the new file's assembler takes over the parts its predecessor holds (`follow`). Held
 * parts are not emitted at shutdown (flushAtStop false); they are emitted as they are
 * (logtag `P`) only when their file is let go after rotation (the writer is done with
 * it) or after multiline_flush_interval, when set.
 */
export class CriAssembler implements LineAssembler {
  readonly flushAtStop = false;
  lastLineAt = 0;
  private readonly held = new Map<string, Held>();
  /** streams whose current line went past max_line_size: its parts are skipped up to its F */
  private readonly skipping = new Set<string>();

  constructor(
    /** in_tail's max_line_size: a joined line longer than this is skipped, as a long line is */
    private readonly maxLineSize?: number,
    private readonly warn?: (msg: string, extra: Record<string, unknown>) => void,
  ) {}

  /** where the current stretch began in which some stream was inside a line (-1: none) */
  private busySince = -1;

  /** some stream is inside a line: parts held, or the rest of an over-long line being skipped */
  get hasPending(): boolean {
    return this.held.size > 0 || this.skipping.size > 0;
  }

  /**
   * Where a restart must resume: the last point at which no stream was inside a line.
   * Not the oldest part held: the other stream may have been inside a line there too (its
   * P before, its F after), and resuming between would read that F alone, a fragment.
   */
  get pendingStart(): number {
    return this.hasPending ? this.busySince : -1;
  }

  /** the assembler of the rotated file before this one (same path), while it is read */
  private prev: CriAssembler | undefined;
  /**
   * Inside a line whose first parts came from the file before (taken over): that file is
   * kept (not let go) until this one is past such lines, so that a restart resumes there
   * and joins them again instead of reading their last parts alone.
   */
  continuesPrevious = false;

  follow(prev: LineAssembler | undefined): void {
    this.prev = prev instanceof CriAssembler && prev !== this ? prev : undefined;
  }

  /**
   * The parts held for `stream`: this file's, else those the rotated file before it holds
   * (the writer was reopened between a line's P and its F), taken over from the line at
   * `offset`: this file commits no further than that line until the F.
   */
  private heldFor(stream: string, offset: number): Held | undefined {
    const own = this.held.get(stream);
    if (own) return own;
    const p = this.prev?.held.get(stream);
    if (!p) return undefined;
    this.prev!.held.delete(stream);
    this.continuesPrevious = true;
    const h = { time: p.time, parts: p.parts, start: offset, bytes: p.bytes };
    this.held.set(stream, h);
    return h;
  }

  private readonly fields = new Int32Array(3);

  /** An F line while no stream of this file (or of the one before) is inside a line: the usual line. */
  passes(b: Buffer, s: number, e: number): boolean {
    if (this.held.size > 0 || this.skipping.size > 0 || (this.prev !== undefined && this.prev.held.size > 0))
      return false;
    const f = this.fields;
    if (!criFields(b, s, e, f)) return false;
    const l0 = f[1]! + 1;
    // P, or P: with attributes
    return !(b[l0] === 0x50 && (f[2]! - l0 === 1 || b[l0 + 1] === 0x3a));
  }

  add(line: string, offset: number, now: number): string | undefined {
    const f = splitCri(line);
    if (!f) return line;
    const [time, stream, logtag, message] = f;
    const wasBusy = this.hasPending;
    const out = this.addParsed(time, stream, logtag, message, line, offset, now);
    if (!this.hasPending) {
      this.busySince = -1;
      this.continuesPrevious = false;
    } else if (!wasBusy) this.busySince = offset;
    return out;
  }

  private addParsed(
    time: string,
    stream: string,
    logtag: string,
    message: string,
    line: string,
    offset: number,
    now: number,
  ): string | undefined {
    const partial = isPartialTag(logtag);
    if (this.skipping.has(stream)) {
      if (!partial) this.skipping.delete(stream);
      return undefined;
    }
    const h = this.heldFor(stream, offset);
    if (partial) {
      this.lastLineAt = now;
      const bytes = this.maxLineSize === undefined ? 0 : Buffer.byteLength(message);
      if (h) {
        h.parts.push(message);
        h.bytes += bytes;
      } else this.held.set(stream, { time, parts: [message], start: offset, bytes });
      if (this.maxLineSize !== undefined) this.bound(stream, this.held.get(stream)!);
      return undefined;
    }
    if (!h) return line;
    this.held.delete(stream);
    h.parts.push(message);
    return `${h.time} ${stream} ${logtag} ${h.parts.join('')}`;
  }

  /** Drops a line whose parts held add up to more than max_line_size, and skips its other parts. */
  private bound(stream: string, h: Held): void {
    const n = h.bytes;
    if (n <= this.maxLineSize!) return;
    this.held.delete(stream);
    this.skipping.add(stream);
    this.warn?.('skipped a CRI line whose parts are longer than max_line_size', {
      stream,
      bytes: n,
      time: h.time,
    });
  }

  takeAll(): string[] {
    const out: string[] = [];
    // Oldest first, as they were written.
    const held = [...this.held.entries()].sort((a, b) => a[1].start - b[1].start);
    for (const [stream, h] of held) out.push(`${h.time} ${stream} P ${h.parts.join('')}`);
    this.held.clear();
    // Given up on (flush interval, file let go): what follows of a skipped line passes as it is.
    this.skipping.clear();
    this.busySince = -1;
    this.continuesPrevious = false;
    return out;
  }
}
