// Hand-built msgpack, in the encodings other writers choose (Fluent Bit's array32 entries and
// map32 options, str8 for short strings, ints wider than needed, ext8 EventTime), for tests
// that must not depend on how msgpackr would encode a value.

export const bytes = (...parts: (Buffer | number[])[]): Buffer =>
  Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));

const be = (n: number, width: 2 | 4): number[] =>
  width === 2
    ? [(n >> 8) & 0xff, n & 0xff]
    : [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];

export const fixstr = (s: string): Buffer => {
  const b = Buffer.from(s);
  return bytes([0xa0 | b.length], b);
};
export const str8 = (s: string): Buffer => {
  const b = Buffer.from(s);
  return bytes([0xd9, b.length], b);
};
export const str16 = (s: string): Buffer => {
  const b = Buffer.from(s);
  return bytes([0xda, ...be(b.length, 2)], b);
};
export const str32 = (s: string): Buffer => {
  const b = Buffer.from(s);
  return bytes([0xdb, ...be(b.length, 4)], b);
};
export const bin32 = (payload: Buffer): Buffer => bytes([0xc6, ...be(payload.length, 4)], payload);
export const bin8 = (payload: Buffer): Buffer => bytes([0xc4, payload.length], payload);

export const fixarray = (n: number): Buffer => Buffer.from([0x90 | n]);
export const array16 = (n: number): Buffer => Buffer.from([0xdc, ...be(n, 2)]);
export const array32 = (n: number): Buffer => Buffer.from([0xdd, ...be(n, 4)]);
export const fixmap = (n: number): Buffer => Buffer.from([0x80 | n]);
export const map16 = (n: number): Buffer => Buffer.from([0xde, ...be(n, 2)]);
export const map32 = (n: number): Buffer => Buffer.from([0xdf, ...be(n, 4)]);

export const uint8 = (n: number): Buffer => Buffer.from([0xcc, n]);
export const uint16 = (n: number): Buffer => Buffer.from([0xcd, ...be(n, 2)]);
export const uint32 = (n: number): Buffer => Buffer.from([0xce, ...be(n, 4)]);
export const uint64 = (n: number): Buffer => Buffer.from([0xcf, 0, 0, 0, 0, ...be(n, 4)]);
export const int16 = (n: number): Buffer => Buffer.from([0xd1, ...be(n & 0xffff, 2)]);
export const int32 = (n: number): Buffer => Buffer.from([0xd2, ...be(n, 4)]);
export const int64 = (n: number): Buffer => Buffer.from([0xd3, 0, 0, 0, 0, ...be(n, 4)]);
export const float64 = (x: number): Buffer => {
  const b = Buffer.alloc(9);
  b[0] = 0xcb;
  b.writeDoubleBE(x, 1);
  return b;
};
export const float32 = (x: number): Buffer => {
  const b = Buffer.alloc(5);
  b[0] = 0xca;
  b.writeFloatBE(x, 1);
  return b;
};
/** EventTime as fixext8 type 0 (what Fluentd and Sluice write). */
export const eventTime = (sec: number, nsec: number): Buffer =>
  bytes([0xd7, 0x00, ...be(sec, 4), ...be(nsec, 4)]);
/** EventTime as ext8, length 8, type 0 (valid, non-minimal). */
export const eventTimeExt8 = (sec: number, nsec: number): Buffer =>
  bytes([0xc7, 0x08, 0x00, ...be(sec, 4), ...be(nsec, 4)]);

/** Fluent Bit's entry: array32 of 2, the EventTime, the record. */
export const fluentBitEntry = (sec: number, nsec: number, record: Buffer): Buffer =>
  bytes(array32(2), eventTime(sec, nsec), record);

/** Fluent Bit's options: map32 {chunk, size, fluent_signal: 0}. */
export const fluentBitOptions = (chunk: string, size: number): Buffer =>
  bytes(
    map32(3),
    fixstr('chunk'),
    fixstr(chunk),
    fixstr('size'),
    uint32(size),
    fixstr('fluent_signal'),
    [0x00],
  );
