import type { ParserPlugin } from '../../core/plugin.ts';

/** A multiline parser (`<parse> @type multiline` with format_firstline) tells where an event starts. */
export interface MultilineParser extends ParserPlugin {
  /** false when the parser has no first-line pattern (then lines accumulate until it matches) */
  readonly hasFirstLine?: boolean;
  isFirstLine?(line: string): boolean;
}

/**
 * Joins a file's lines into the texts the parser reads (a multiline event, a CRI line
 * made of its partials). While it holds lines, `pendingStart` is the file offset of the
 * first line held, so the position committed never passes a line not yet emitted.
 */
export interface LineAssembler {
  readonly hasPending: boolean;
  /** file offset of the first line held (-1: none) */
  readonly pendingStart: number;
  /** Date.now() when the last line was added (for multiline_flush_interval) */
  readonly lastLineAt: number;
  /**
   * At shutdown: true emits what is held (multiline, as Fluentd does); false leaves it
   * unread, so the next start reads its lines again from the committed position.
   */
  readonly flushAtStop: boolean;
  /** Adds a line that starts at file offset `offset`; returns a completed text, if any. */
  add(line: string, offset: number, now: number): string | undefined;
  /** Everything held, as texts to parse, clearing it (flush interval, rotation, shutdown). */
  takeAll(): string[];
  /**
   * The assembler of the file read before this one for the same path (a rotated file not
   * yet let go), or undefined: an assembler may continue what that one holds.
   */
  follow?(prev: LineAssembler | undefined): void;
  /** inside what it took over from the previous file's assembler: that file must not be let go yet */
  readonly continuesPrevious?: boolean;
  /**
   * Whether the UTF-8 line `b[s, e)` would come back from `add` unchanged, with nothing
   * held before or after: the caller may then encode it from its bytes without a string.
   */
  passes?(b: Buffer, s: number, e: number): boolean;
}

/**
 * Groups lines into events, as in_tail's parse_multilines: with a first-line pattern a
 * new event starts at each matching line; without one, lines accumulate until the
 * parser matches the text so far. The file offset where the pending event starts is
 * kept so the position committed never passes a line that was not emitted yet.
 */
export class MultilineAssembler implements LineAssembler {
  readonly flushAtStop = true;
  private pending: string[] = [];
  /** file offset of the first pending line */
  pendingStart = -1;
  /** Date.now() when the last line was added (for multiline_flush_interval) */
  lastLineAt = 0;

  constructor(
    private readonly parser: () => MultilineParser,
    /** lines before any first line: returned alone to be parsed (emit_unmatched_lines) or dropped with a warning */
    private readonly emitOrphans: boolean,
    private readonly warn: (msg: string, extra: Record<string, unknown>) => void,
  ) {}

  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  /** Adds a line that starts at file offset `offset`; returns a completed event text, if any. */
  add(line: string, offset: number, now: number): string | undefined {
    this.lastLineAt = now;
    const p = this.parser();
    if (p.isFirstLine && p.hasFirstLine !== false) {
      if (p.isFirstLine(line)) {
        const done = this.take();
        this.pending.push(line);
        this.pendingStart = offset;
        return done;
      }
      if (this.pending.length === 0) {
        if (this.emitOrphans) return line;
        this.warn('got incomplete line before first line', { code: 'MULTILINE_NO_START', line });
        return undefined;
      }
      this.pending.push(line);
      return undefined;
    }
    if (this.pending.length === 0) this.pendingStart = offset;
    this.pending.push(line);
    const text = this.pending.join('\n');
    if (p.parse(text)) {
      this.pending = [];
      this.pendingStart = -1;
      return text;
    }
    return undefined;
  }

  takeAll(): string[] {
    const t = this.take();
    return t === undefined ? [] : [t];
  }

  /** The pending event text (flush interval, rotation, shutdown), clearing it. */
  take(): string | undefined {
    if (this.pending.length === 0) return undefined;
    const text = this.pending.join('\n');
    this.pending = [];
    this.pendingStart = -1;
    return text;
  }
}
