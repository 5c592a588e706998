// Records decoded from msgpack can hold values JSON.stringify does not render the way
// Fluentd does: integers beyond 2^53 (decoded as BigInt, which JSON.stringify refuses)
// and msgpack bin (a Buffer, which it renders as {"type":"Buffer","data":[...]}). Ruby
// writes the first as plain digits and the second as a string. The common case pays one
// native stringify and one substring scan; only records with such values take the slow path.

const BIG_MARK = '\u0000sluice-bigint:';
const BIG_RE = /"\\u0000sluice-bigint:(-?\d+)"/g;

function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  if (typeof raw === 'bigint') return `${BIG_MARK}${raw.toString()}`;
  if (raw instanceof Uint8Array)
    return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
  return value;
}

/** JSON text of a record as Fluentd writes it (big integers as digits, binary as strings). */
export function recordJson(record: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(record);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    return slow(record);
  }
  return s.includes('"type":"Buffer"') ? slow(record) : s;
}

function slow(record: unknown): string {
  return JSON.stringify(record, replacer).replace(BIG_RE, '$1');
}
