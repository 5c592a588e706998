// Walks msgpack structure without building values. The buffer uses it to find entry
// boundaries (splitting a batch across chunks, cutting a torn chunk file back to its last
// whole entry) and to read an entry's time, so tag-keyed buffering never decodes records.

// The skipper itself is @sluice/forward's, the one the streaming frame decoder uses.
import { INCOMPLETE, INVALID, skipValue } from '@sluice/forward';

export { INCOMPLETE, INVALID, skipValue };

/** The result of scanning concatenated `[time, record]` entries. */
export interface EntryScan {
  /** offset just past the last whole, well-formed entry */
  validEnd: number;
  count: number;
  /** why scanning stopped before the end, if it did */
  problem?: 'torn' | 'invalid';
}

/**
 * Bytes of the header of the 2-element array (an entry) at `off`: 1 for fixarray (0x92, how
 * every Sluice batch is written), 3 or 5 for array16/array32 holding 2 (valid msgpack, which
 * Fluent Bit writes: `dd 00 00 00 02`); -1 when the value there is not a 2-element array.
 * A buffer that ends inside the header counts as not one (`torn` is told by skipValue).
 */
export function entryHeaderSize(b: Uint8Array, off: number, end = b.length): number {
  const t = b[off];
  if (t === 0x92) return 1;
  if (t === 0xdc) return off + 3 <= end && b[off + 1] === 0 && b[off + 2] === 2 ? 3 : -1;
  if (t === 0xdd)
    return off + 5 <= end && b[off + 1] === 0 && b[off + 2] === 0 && b[off + 3] === 0 && b[off + 4] === 2
      ? 5
      : -1;
  return -1;
}

/**
 * Scans entries from the start; stops at the first value that is not a whole
 * 2-element array (a torn write or garbage). Entry starts are pushed into `starts`
 * when given.
 */
export function scanEntries(b: Uint8Array, starts?: number[], end = b.length): EntryScan {
  let off = 0;
  let count = 0;
  while (off < end) {
    // Fast path: the fixarray header every Sluice writer uses; array16/32 of 2 are valid too.
    if (b[off] !== 0x92 && entryHeaderSize(b, off, end) < 0) {
      const t = b[off];
      // an array16/32 header cut short by the end is a torn write, not garbage
      const torn = (t === 0xdc && off + 3 > end) || (t === 0xdd && off + 5 > end);
      return { validEnd: off, count, problem: torn ? 'torn' : 'invalid' };
    }
    const next = skipValue(b, off, end);
    if (next === INCOMPLETE) return { validEnd: off, count, problem: 'torn' };
    if (next === INVALID) return { validEnd: off, count, problem: 'invalid' };
    starts?.push(off);
    off = next;
    count++;
  }
  return { validEnd: off, count };
}

/**
 * Seconds of the entry's time at `off` (the entry's array header): EventTime ext (the common
 * case, read in place) or an integer/float time as older clients send, in any width.
 */
export function entrySeconds(b: Buffer, entryOff: number): number {
  // `off` + 1 is the time, as after a 1-byte header (array16/32 headers are 3 or 5 bytes).
  const off = b[entryOff] === 0x92 ? entryOff : entryOff + entryHeaderSize(b, entryOff) - 1;
  const t = b[off + 1]!;
  if (t === 0xd7 && b[off + 2] === 0) return b.readUInt32BE(off + 3);
  if (t <= 0x7f) return t;
  if (t >= 0xe0) return t - 0x100;
  switch (t) {
    case 0xca:
      return Math.floor(b.readFloatBE(off + 2));
    case 0xcb:
      return Math.floor(b.readDoubleBE(off + 2));
    case 0xcc:
      return b[off + 2]!;
    case 0xcd:
      return b.readUInt16BE(off + 2);
    case 0xce:
      return b.readUInt32BE(off + 2);
    case 0xcf:
      return Number(b.readBigUInt64BE(off + 2));
    case 0xd0:
      return b.readInt8(off + 2);
    case 0xd1:
      return b.readInt16BE(off + 2);
    case 0xd2:
      return b.readInt32BE(off + 2);
    case 0xd3:
      return Number(b.readBigInt64BE(off + 2));
    case 0xc7:
      // ext8 with 8- or 12-byte payload (EventTime as ext8, or msgpack timestamp)
      if (b[off + 2] === 8 && b[off + 3] === 0) return b.readUInt32BE(off + 4);
      return 0;
    default:
      return 0;
  }
}
