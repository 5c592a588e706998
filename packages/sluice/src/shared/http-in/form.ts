/**
 * application/x-www-form-urlencoded and query strings, decoded to bytes. `msgpack=` fields
 * carry binary, which URLSearchParams would mangle by decoding as UTF-8, so values stay
 * Buffers and callers pick the text decoding they need.
 */
export function parseForm(src: Buffer | string, into: Map<string, Buffer> = new Map()): Map<string, Buffer> {
  const buf = typeof src === 'string' ? Buffer.from(src, 'latin1') : src;
  let start = 0;
  const n = buf.length;
  while (start <= n) {
    let end = buf.indexOf(0x26 /* & */, start);
    if (end < 0) end = n;
    if (end > start) {
      let eq = buf.indexOf(0x3d /* = */, start);
      if (eq < 0 || eq > end) eq = end;
      const key = decodeComponent(buf, start, eq).toString('utf8');
      const value = eq < end ? decodeComponent(buf, eq + 1, end) : Buffer.alloc(0);
      into.set(key, value);
    }
    start = end + 1;
  }
  return into;
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

function decodeComponent(buf: Buffer, from: number, to: number): Buffer {
  const out = Buffer.allocUnsafe(to - from);
  let o = 0;
  for (let i = from; i < to; i++) {
    const c = buf[i]!;
    if (c === 0x2b /* + */) out[o++] = 0x20;
    else if (c === 0x25 /* % */ && i + 2 < to) {
      const h = hex(buf[i + 1]!);
      const l = hex(buf[i + 2]!);
      if (h >= 0 && l >= 0) {
        out[o++] = (h << 4) | l;
        i += 2;
      } else out[o++] = c; // a stray % is kept, as Ruby's decode_www_form does not fail on it either
    } else out[o++] = c;
  }
  return out.subarray(0, o);
}
