import { ForwardProtocolError } from './errors.ts';
import { Skipper } from './scan.ts';

export interface DecoderOptions {
  /** largest top-level msgpack value accepted, in bytes */
  maxFrameSize: number;
  /** 'array': every frame must be a msgpack array (a server reading events or PING) */
  expect?: 'array' | 'any';
  /**
   * Called before a buffer of `bytes` is allocated to hold an unfinished frame (it replaces
   * the one counted by `held`). Throw to refuse: push() then throws that error and keeps
   * nothing new. Lets a server bound the memory all its connections hold.
   */
  reserve?: (bytes: number) => void;
}

/**
 * Splits a byte stream into whole top-level msgpack values. Buffers at most one frame
 * (bounded by maxFrameSize, checked against declared lengths before the bytes arrive),
 * resumes scanning where the last read stopped, and never rescans a byte.
 *
 * Frames returned by next() are views into an internal buffer, valid until the next
 * push(); copy what must outlive that.
 */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;
  private end = 0;
  private scanning = false;
  private readonly skipper = new Skipper();
  private readonly max: number;
  private readonly expectArray: boolean;
  private readonly reserve: ((bytes: number) => void) | undefined;

  constructor(opts: DecoderOptions) {
    this.max = opts.maxFrameSize;
    this.expectArray = (opts.expect ?? 'array') === 'array';
    this.reserve = opts.reserve;
  }

  /** Bytes held that are not yet part of a returned frame. */
  get buffered(): number {
    return this.end - this.start;
  }

  /** Memory kept for an unfinished frame: the whole buffer it sits in, 0 when none. */
  get held(): number {
    return this.start < this.end ? this.buf.length : 0;
  }

  /** Drops whatever is held (the connection is gone). */
  reset(): void {
    this.buf = Buffer.alloc(0);
    this.start = this.end = 0;
    this.scanning = false;
  }

  push(data: Buffer): void {
    if (data.length === 0) return;
    if (this.start === this.end) {
      // Common case: nothing pending, work on the arriving buffer without copying it.
      this.rebase(data, 0, data.length);
      return;
    }
    const pending = this.end - this.start;
    if (this.end + data.length <= this.buf.length && this.buf !== data) {
      data.copy(this.buf, this.end);
      this.end += data.length;
      return;
    }
    // When the frame's remaining size is known (a bin32 header has been read), allocate for
    // it at once: doubling towards a 60 MB frame leaves 60 MB of dead buffers behind.
    const known = this.scanning ? Math.min(this.skipper.need - this.start, this.max + 16) : 0;
    const size = Math.max(pending + data.length, known, Math.min(pending * 2, this.max + 16), 16 * 1024);
    this.reserve?.(size);
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, this.start, this.end);
    data.copy(next, pending);
    this.rebase(next, 0, pending + data.length);
  }

  private rebase(buf: Buffer, start: number, end: number): void {
    if (this.scanning) this.skipper.pos -= this.start - start;
    this.buf = buf;
    this.start = start;
    this.end = end;
  }

  /** The next complete frame, or undefined when more bytes are needed. Throws ForwardProtocolError. */
  next(): Buffer | undefined {
    if (this.start === this.end) return undefined;
    if (!this.scanning) {
      const first = this.buf[this.start]!;
      if (this.expectArray && !isArrayByte(first)) {
        if (first === 0x7b || first === 0x5b) {
          throw new ForwardProtocolError(
            'JSON_NOT_SUPPORTED',
            'JSON frames are not supported by this forward input; send msgpack',
          );
        }
        throw new ForwardProtocolError(
          'NOT_AN_ARRAY',
          `a forward frame must be a msgpack array, got first byte 0x${first.toString(16)}`,
        );
      }
      this.skipper.reset(this.start, 1);
      this.scanning = true;
    }
    const limit = this.start + this.max;
    let done: boolean;
    try {
      done = this.skipper.run(this.buf, this.end, limit);
    } catch (e) {
      if (e instanceof ForwardProtocolError && e.code === 'FRAME_TOO_LARGE') {
        throw new ForwardProtocolError(
          'FRAME_TOO_LARGE',
          `frame exceeds the limit of ${this.max} bytes (${e.message})`,
        );
      }
      throw e;
    }
    if (!done) {
      if (this.skipper.need - this.start > this.max) {
        throw new ForwardProtocolError('FRAME_TOO_LARGE', `frame exceeds the limit of ${this.max} bytes`);
      }
      return undefined;
    }
    this.scanning = false;
    const frame = this.buf.subarray(this.start, this.skipper.pos);
    this.start = this.skipper.pos;
    if (this.start === this.end) {
      // Drop the reference so an idle connection holds no buffer.
      this.buf = Buffer.alloc(0);
      this.start = this.end = 0;
    }
    return frame;
  }
}

function isArrayByte(b: number): boolean {
  return (b >= 0x90 && b <= 0x9f) || b === 0xdc || b === 0xdd;
}
