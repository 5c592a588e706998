import { isPartialTag, splitCri } from '../parse/cri.ts';
import type { LineAssembler } from './multiline.ts';

interface Held {
  /** the time field of the first part */
  time: string;
  parts: string[];
  /** file offset of the first part's line */
  start: number;
}

/**
 * Joins CRI partial lines (`<parse> @type cri`, join_partials): containerd and CRI-O
 * split a long line into `P` lines ended by an `F` line, and stdout and stderr may
 * interleave, so parts are held per stream (one assembler per file). The `F` line
 * completes its stream's parts into one line, `FIRST_TIME STREAM F PART1PART2...`, which
 * the cri parser then reads as any line. Lines that are not CRI lines, and `F` lines
 * with nothing held, pass through unchanged.
 *
 * The position: `pendingStart` is the offset of the oldest part held, so the tail
 * commits no further; after a restart the parts are read again and joined whole. A line
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

  get hasPending(): boolean {
    return this.held.size > 0;
  }

  get pendingStart(): number {
    let min = -1;
    for (const h of this.held.values()) if (min < 0 || h.start < min) min = h.start;
    return min;
  }

  /** the assembler of the rotated file before this one (same path), while it is read */
  private prev: CriAssembler | undefined;

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
    const h = { time: p.time, parts: p.parts, start: offset };
    this.held.set(stream, h);
    return h;
  }

  add(line: string, offset: number, now: number): string | undefined {
    const f = splitCri(line);
    if (!f) return line;
    const [time, stream, logtag, message] = f;
    const h = this.heldFor(stream, offset);
    if (isPartialTag(logtag)) {
      this.lastLineAt = now;
      if (h) h.parts.push(message);
      else this.held.set(stream, { time, parts: [message], start: offset });
      return undefined;
    }
    if (!h) return line;
    this.held.delete(stream);
    h.parts.push(message);
    return `${h.time} ${stream} ${logtag} ${h.parts.join('')}`;
  }

  takeAll(): string[] {
    const out: string[] = [];
    // Oldest first, as they were written.
    const held = [...this.held.entries()].sort((a, b) => a[1].start - b[1].start);
    for (const [stream, h] of held) out.push(`${h.time} ${stream} P ${h.parts.join('')}`);
    this.held.clear();
    return out;
  }
}
