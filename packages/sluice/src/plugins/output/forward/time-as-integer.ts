import { skipOne } from '@sluice/forward';

/**
 * Rewrites PackedForward entries so each EventTime (fixext8 type 0) becomes an integer
 * of seconds, for receivers that predate EventTime (Fluentd v0.12). Entries whose time is
 * already an integer are copied unchanged.
 */
export function timesAsIntegers(bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafe(bytes.length);
  let o = 0;
  let pos = 0;
  while (pos < bytes.length) {
    const end = skipOne(bytes, pos);
    // [time, record] written as fixarray 2 + fixext8 type 0 (how every Sluice batch is built)
    if (bytes[pos] === 0x92 && bytes[pos + 1] === 0xd7 && bytes[pos + 2] === 0x00) {
      out[o++] = 0x92;
      out[o++] = 0xce;
      bytes.copy(out, o, pos + 3, pos + 7); // the seconds, big-endian uint32
      o += 4;
      o += bytes.copy(out, o, pos + 11, end);
    } else {
      o += bytes.copy(out, o, pos, end);
    }
    pos = end;
  }
  return out.subarray(0, o);
}
