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
  /**
   * Where frames are assembled when they span reads: buffers are taken from it, and
   * recycle() gives a frame's buffer back once nothing reads it. Shared by a server's
   * connections, it bounds the memory kept for reuse.
   */
  pool?: { take(size: number): Buffer | undefined; give(buf: Buffer): void };
}

/** Larger assembly buffers are not given back for reuse (a rare huge frame is not kept). */
const RECYCLE_MAX = 1024 * 1024;

/**
 * Splits a byte stream into whole top-level msgpack values. Buffers at most one frame
 * (bounded by maxFrameSize, checked against declared lengths before the bytes arrive),
 * resumes scanning where the last read stopped, and never rescans a byte.
 *
 * Frames returned by next() are views into the pushed reads or into a buffer the decoder
 * assembled a frame in; the decoder never writes over bytes it returned. Once nothing reads
 * a frame any more, recycle() lets the decoder assemble a later frame in its memory.
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
  private readonly pool: DecoderOptions['pool'];
  /**
   * The buffers this decoder assembled frames in (from the pool), each with how many of the
   * frames it returned from them are not recycled yet: a buffer goes back to the pool once
   * that is 0 and the decoder has moved on from it.
   */
  private readonly out = new Map<ArrayBufferLike, number>();

  constructor(opts: DecoderOptions) {
    this.max = opts.maxFrameSize;
    this.expectArray = (opts.expect ?? 'array') === 'array';
    this.reserve = opts.reserve;
    this.pool = opts.pool;
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
    // Frames still out may belong to an emit that failed: their memory is never reused.
    this.out.clear();
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
    const next = this.alloc(size);
    const old = this.buf;
    old.copy(next, 0, this.start, this.end);
    data.copy(next, pending);
    this.rebase(next, 0, pending + data.length);
    this.release(old.buffer);
  }

  /**
   * Says that nothing reads a frame from next() any more (for a server: the emit of its
   * events resolved). Its buffer goes back to the pool once every frame in it is recycled
   * and the decoder has moved on, to assemble a later frame in: a stream of frames larger
   * than a read then costs no fresh allocation (and no dead buffer to collect) per frame.
   * Frames that are views into the pushed reads are not tracked.
   */
  recycle(frame: Uint8Array): void {
    const ab = frame.buffer;
    const n = this.out.get(ab);
    if (n === undefined || n === 0) return;
    this.out.set(ab, n - 1);
    if (n === 1) this.release(ab);
  }

  private release(ab: ArrayBufferLike): void {
    if (ab === this.buf.buffer || this.out.get(ab) !== 0) return;
    this.out.delete(ab);
    if (ab.byteLength <= RECYCLE_MAX) this.pool!.give(Buffer.from(ab, 0, ab.byteLength));
  }

  private alloc(size: number): Buffer {
    if (!this.pool) return Buffer.allocUnsafe(size);
    const b = this.pool.take(size) ?? Buffer.allocUnsafe(size);
    // Sizes here are at least 16 KiB: never a slice of Node's shared pool.
    if (b.byteOffset === 0 && b.length === b.buffer.byteLength) this.out.set(b.buffer, 0);
    return b;
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
    const n = this.out.get(frame.buffer);
    if (n !== undefined) this.out.set(frame.buffer, n + 1);
    if (this.start === this.end) {
      // Drop the reference so an idle connection holds no buffer.
      const old = this.buf;
      this.buf = Buffer.alloc(0);
      this.start = this.end = 0;
      this.release(old.buffer);
    }
    return frame;
  }
}

function isArrayByte(b: number): boolean {
  return (b >= 0x90 && b <= 0x9f) || b === 0xdc || b === 0xdd;
}
