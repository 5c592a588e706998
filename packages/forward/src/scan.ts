import { ForwardProtocolError } from './errors.ts';

/**
 * A resumable msgpack skipper: walks values without decoding them, so frame boundaries
 * are found in one pass with no allocation. One counter of values still to skip replaces
 * a stack (a container adds its children to it), so hostile nesting cannot recurse and
 * state survives between network reads.
 */
export class Skipper {
  /** next byte to read */
  pos = 0;
  /** values still to skip */
  remaining = 0;
  /** when run() returns false: the buffer must reach at least this end before progress is possible */
  need = 0;

  reset(pos: number, count: number): void {
    this.pos = pos;
    this.remaining = count;
    this.need = 0;
  }

  /**
   * Skips until `remaining` is 0 (returns true) or the data ends (returns false; state is
   * kept so the next call resumes). `limit` is the end offset no declared length may pass.
   */
  run(buf: Uint8Array, end: number, limit: number): boolean {
    let pos = this.pos;
    let remaining = this.remaining;
    while (remaining > 0) {
      if (pos >= end) {
        this.need = pos + 1;
        break;
      }
      const b = buf[pos]!;
      let size: number; // bytes of this value's header + payload (not children)
      let children = 0;
      if (b <= 0x7f || b >= 0xe0) size = 1;
      else if (b <= 0x8f) {
        size = 1;
        children = (b & 0x0f) * 2;
      } else if (b <= 0x9f) {
        size = 1;
        children = b & 0x0f;
      } else if (b <= 0xbf) size = 1 + (b & 0x1f);
      else {
        const h = headerSize(b);
        if (h < 0)
          throw new ForwardProtocolError(
            'INVALID_MSGPACK',
            `invalid msgpack byte 0x${b.toString(16)} at offset ${pos}`,
          );
        if (pos + h > end) {
          this.need = pos + h;
          break;
        }
        size = h;
        switch (b) {
          case 0xc4:
          case 0xd9:
            size += buf[pos + 1]!;
            break;
          case 0xc5:
          case 0xda:
            size += u16(buf, pos + 1);
            break;
          case 0xc6:
          case 0xdb:
            size += u32(buf, pos + 1);
            break;
          case 0xc7:
            size += buf[pos + 1]!;
            break;
          case 0xc8:
            size += u16(buf, pos + 1);
            break;
          case 0xc9:
            size += u32(buf, pos + 1);
            break;
          case 0xdc:
            children = u16(buf, pos + 1);
            break;
          case 0xdd:
            children = u32(buf, pos + 1);
            break;
          case 0xde:
            children = u16(buf, pos + 1) * 2;
            break;
          case 0xdf:
            children = u32(buf, pos + 1) * 2;
            break;
        }
      }
      if (pos + size > limit) {
        throw new ForwardProtocolError(
          'FRAME_TOO_LARGE',
          `a value at offset ${pos} declares ${size} bytes, past the frame size limit`,
        );
      }
      if (pos + size > end) {
        this.need = pos + size;
        break;
      }
      pos += size;
      remaining += children - 1;
      // Every value takes at least one byte: a count no frame within the limit can hold is hostile.
      if (remaining > limit - pos) {
        throw new ForwardProtocolError(
          'FRAME_TOO_LARGE',
          `a container at offset ${pos - size} declares more elements than the frame size limit allows`,
        );
      }
    }
    this.pos = pos;
    this.remaining = remaining;
    return remaining === 0;
  }
}

/** Header bytes of a type-byte in 0xc0..0xdf (fixed payload included for scalars); -1 = never used. */
function headerSize(b: number): number {
  switch (b) {
    case 0xc0:
    case 0xc2:
    case 0xc3:
      return 1;
    case 0xc4:
    case 0xd9:
      return 2;
    case 0xc5:
    case 0xda:
      return 3;
    case 0xc6:
    case 0xdb:
      return 5;
    case 0xc7:
      return 3;
    case 0xc8:
      return 4;
    case 0xc9:
      return 6;
    case 0xca:
      return 5;
    case 0xcb:
      return 9;
    case 0xcc:
    case 0xd0:
      return 2;
    case 0xcd:
    case 0xd1:
      return 3;
    case 0xce:
    case 0xd2:
      return 5;
    case 0xcf:
    case 0xd3:
      return 9;
    case 0xd4:
      return 3;
    case 0xd5:
      return 4;
    case 0xd6:
      return 6;
    case 0xd7:
      return 10;
    case 0xd8:
      return 18;
    case 0xdc:
    case 0xde:
      return 3;
    case 0xdd:
    case 0xdf:
      return 5;
    default:
      return -1; // 0xc1
  }
}

export function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

export function u32(b: Uint8Array, o: number): number {
  return b[o]! * 0x1000000 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
}

const shared = new Skipper();

/** Returned by skipValue when the bytes end inside a value. */
export const INCOMPLETE = -1;
/** Returned by skipValue for a byte that starts no msgpack value (0xc1). */
export const INVALID = -2;

/**
 * End offset of the value at `pos`; INCOMPLETE when the bytes end first, INVALID on a byte
 * no value starts with. For whole buffers whose end is known (chunks, files, a frame already
 * read); Skipper is the resumable walk for bytes still arriving. Two loops on purpose:
 * this one keeps its state in locals and returns codes instead of throwing, and a version
 * built on Skipper was measurably slower on the buffer's per-entry scans
 * (bench/codec/skip.ts, bench/RESULTS.md "msgpack skipper").
 */
export function skipValue(b: Uint8Array, off: number, end = b.length): number {
  let pending = 1;
  while (pending > 0) {
    if (off >= end) return INCOMPLETE;
    const t = b[off]!;
    pending--;
    if (t <= 0x7f || t >= 0xe0) {
      off += 1;
    } else if (t <= 0x8f) {
      pending += (t & 0x0f) * 2;
      off += 1;
    } else if (t <= 0x9f) {
      pending += t & 0x0f;
      off += 1;
    } else if (t <= 0xbf) {
      off += 1 + (t & 0x1f);
    } else {
      let n: number;
      switch (t) {
        case 0xc0:
        case 0xc2:
        case 0xc3:
          off += 1;
          continue;
        case 0xc1:
          return INVALID;
        case 0xc4:
        case 0xd9:
          if (off + 2 > end) return INCOMPLETE;
          off += 2 + b[off + 1]!;
          continue;
        case 0xc5:
        case 0xda:
          if (off + 3 > end) return INCOMPLETE;
          off += 3 + ((b[off + 1]! << 8) | b[off + 2]!);
          continue;
        case 0xc6:
        case 0xdb:
          if (off + 5 > end) return INCOMPLETE;
          off += 5 + u32(b, off + 1);
          continue;
        case 0xc7:
          if (off + 2 > end) return INCOMPLETE;
          off += 3 + b[off + 1]!;
          continue;
        case 0xc8:
          if (off + 3 > end) return INCOMPLETE;
          off += 4 + ((b[off + 1]! << 8) | b[off + 2]!);
          continue;
        case 0xc9:
          if (off + 5 > end) return INCOMPLETE;
          off += 6 + u32(b, off + 1);
          continue;
        case 0xca:
          off += 5;
          continue;
        case 0xcb:
          off += 9;
          continue;
        case 0xcc:
        case 0xd0:
          off += 2;
          continue;
        case 0xcd:
        case 0xd1:
          off += 3;
          continue;
        case 0xce:
        case 0xd2:
          off += 5;
          continue;
        case 0xcf:
        case 0xd3:
          off += 9;
          continue;
        case 0xd4:
          off += 3;
          continue;
        case 0xd5:
          off += 4;
          continue;
        case 0xd6:
          off += 6;
          continue;
        case 0xd7:
          off += 10;
          continue;
        case 0xd8:
          off += 18;
          continue;
        case 0xdc:
        case 0xde:
          if (off + 3 > end) return INCOMPLETE;
          n = (b[off + 1]! << 8) | b[off + 2]!;
          pending += t === 0xde ? n * 2 : n;
          off += 3;
          continue;
        case 0xdd:
        case 0xdf:
          if (off + 5 > end) return INCOMPLETE;
          n = u32(b, off + 1);
          pending += t === 0xdf ? n * 2 : n;
          off += 5;
          continue;
        default:
          return INVALID;
      }
    }
  }
  return off <= end ? off : INCOMPLETE;
}

/** End offset of the value at `pos` in a complete buffer; throws on malformed or truncated data. */
export function skipOne(buf: Uint8Array, pos: number, end = buf.length): number {
  shared.reset(pos, 1);
  let done: boolean;
  try {
    done = shared.run(buf, end, end);
  } catch (e) {
    if (e instanceof ForwardProtocolError && e.code === 'FRAME_TOO_LARGE') done = false;
    else throw e;
  }
  if (!done) throw new ForwardProtocolError('BAD_FRAME', `truncated value at offset ${pos}`);
  return shared.pos;
}
