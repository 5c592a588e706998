import { addExtension, type Options, Packr, Unpackr } from 'msgpackr';
import { EventTime } from './event-time.ts';

// One ext registration for the whole process: EventTime <-> msgpack ext type 0.
// msgpackr refuses a falsy `type` for packing extensions, and Fluentd's type is 0; a
// Number object is truthy for that check and still writes and indexes as 0.
addExtension({
  Class: EventTime,
  type: new Number(0) as unknown as number,
  pack: (t: EventTime) => t.toBuffer(),
  unpack: (b: Uint8Array) => EventTime.fromBuffer(b),
});

/**
 * Options that keep msgpackr's output to plain msgpack a Ruby/C peer understands:
 * no record structures, no bundled strings, maps decoded as plain objects.
 */
const options = {
  useRecords: false,
  // msgpackr writes `undefined` as fixext 1 of type 0 by default, which a peer reads as
  // a broken EventTime: write nil, as Ruby and C encoders do.
  encodeUndefinedAsNil: true,
  // Size maps by their key count (map16/map32) instead of assuming < 65,536 keys.
  variableMapSize: true,
  mapsAsObjects: true,
  moreTypes: false,
  bundleStrings: false,
  // Integers beyond 2^53 decode as BigInt (and re-encode as int64/uint64) instead of
  // losing precision; smaller ones stay numbers.
  int64AsType: 'auto' as const,
};

// msgpackr's type declarations lag behind its runtime options ('auto').
export const packr = new Packr(options as unknown as Options);
export const unpackr = new Unpackr(options as unknown as Options);

export function encode(value: unknown): Buffer {
  return packr.pack(value);
}

export function decode(bytes: Uint8Array): unknown {
  return unpackr.unpack(bytes);
}

/** Decodes a buffer of concatenated msgpack values. */
export function decodeMultiple(bytes: Uint8Array): unknown[] {
  if (bytes.length === 0) return [];
  return unpackr.unpackMultiple(bytes) as unknown[];
}
