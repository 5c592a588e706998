// A partition's messages as one Kafka record batch (magic 2, uncompressed), written into a
// single Buffer. @platformatic/kafka builds each record through a Writer and a list of small
// Buffers, and checks every message against a JSON schema, which made the client the larger
// part of kafka2's CPU and of its garbage; here a record costs a few varints and one copy of
// its value. Layout: https://kafka.apache.org/documentation/#recordbatch
import { crc32c } from '@platformatic/kafka';
import type { KafkaMessage } from './encode.ts';

/** baseOffset .. recordsCount */
const HEADER = 61;
/** where the CRC starts (attributes) */
const CRC_FROM = 21;

function uvarintSize(u: number): number {
  let n = 1;
  while (u >= 128) {
    u = Math.floor(u / 128);
    n++;
  }
  return n;
}

/** zigzag, for the signed varints of a record */
function zz(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

function writeUvarint(b: Buffer, pos: number, u: number): number {
  while (u >= 128) {
    b[pos++] = (u & 0x7f) | 0x80;
    u = Math.floor(u / 128);
  }
  b[pos++] = u;
  return pos;
}

function bytesSize(v: Buffer | undefined | null): number {
  return v ? uvarintSize(zz(v.length)) + v.length : 1;
}

function writeBytes(b: Buffer, pos: number, v: Buffer | undefined | null): number {
  if (!v) {
    b[pos] = 1; // zigzag(-1): null
    return pos + 1;
  }
  pos = writeUvarint(b, pos, zz(v.length));
  v.copy(b, pos);
  return pos + v.length;
}

export interface BatchProducer {
  producerId: bigint;
  producerEpoch: number;
  /** -1 without the idempotent producer */
  baseSequence: number;
  transactional?: boolean;
}

/** One record batch holding `messages` (all of one partition), ready for a Produce request. */
export function recordBatch(messages: KafkaMessage[], p: BatchProducer, now = BigInt(Date.now())): Buffer {
  const n = messages.length;
  const base = messages[0]!.timestamp ?? now;
  let max = base;
  const bodies = new Array<number>(n);
  let size = HEADER;
  for (let i = 0; i < n; i++) {
    const m = messages[i]!;
    const ts = m.timestamp ?? now;
    if (ts > max) max = ts;
    let body = 1 + uvarintSize(zz(Number(ts - base))) + uvarintSize(zz(i));
    body += bytesSize(m.key) + bytesSize(m.value);
    const h = m.headers as Map<Buffer, Buffer> | undefined;
    body += uvarintSize(zz(h?.size ?? 0));
    if (h) for (const [k, v] of h) body += bytesSize(k) + bytesSize(v);
    bodies[i] = body;
    size += uvarintSize(zz(body)) + body;
  }
  const b = Buffer.allocUnsafe(size);
  b.writeBigInt64BE(0n, 0); // baseOffset: the broker assigns it
  b.writeInt32BE(size - 12, 8);
  b.writeInt32BE(-1, 12); // partitionLeaderEpoch
  b[16] = 2; // magic
  b.writeInt16BE(p.transactional ? 0x10 : 0, 21);
  b.writeInt32BE(n - 1, 23); // lastOffsetDelta
  b.writeBigInt64BE(base, 27);
  b.writeBigInt64BE(max, 35);
  b.writeBigInt64BE(p.producerId, 43);
  b.writeInt16BE(p.producerEpoch, 51);
  b.writeInt32BE(p.baseSequence, 53);
  b.writeInt32BE(n, 57);
  let pos = HEADER;
  for (let i = 0; i < n; i++) {
    const m = messages[i]!;
    pos = writeUvarint(b, pos, zz(bodies[i]!));
    b[pos++] = 0; // record attributes
    pos = writeUvarint(b, pos, zz(Number((m.timestamp ?? now) - base)));
    pos = writeUvarint(b, pos, zz(i));
    pos = writeBytes(b, pos, m.key);
    pos = writeBytes(b, pos, m.value);
    const h = m.headers as Map<Buffer, Buffer> | undefined;
    pos = writeUvarint(b, pos, zz(h?.size ?? 0));
    if (h)
      for (const [k, v] of h) {
        pos = writeBytes(b, pos, k);
        pos = writeBytes(b, pos, v);
      }
  }
  b.writeUInt32BE(crc32c(b.subarray(CRC_FROM)) >>> 0, 17);
  return b;
}
