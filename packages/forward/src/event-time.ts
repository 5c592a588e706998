/**
 * Fluentd's EventTime: whole seconds plus nanoseconds. On the wire it is msgpack ext
 * type 0 with 8 bytes of payload, two big-endian uint32 (seconds, nanoseconds).
 */
export class EventTime {
  constructor(
    readonly sec: number,
    readonly nsec: number,
  ) {}

  static now(): EventTime {
    const ms = Date.now();
    // hrtime gives sub-millisecond ordering within a process; wall clock gives the epoch.
    const sub = Number(process.hrtime.bigint() % 1_000_000n);
    return new EventTime(Math.floor(ms / 1000), (ms % 1000) * 1_000_000 + sub);
  }

  static fromMillis(ms: number): EventTime {
    const sec = Math.floor(ms / 1000);
    return new EventTime(sec, Math.round((ms - sec * 1000) * 1_000_000));
  }

  /** Accepts what a peer may send as a time: EventTime, integer or float seconds. */
  static from(value: unknown): EventTime | undefined {
    if (value instanceof EventTime) return value;
    if (typeof value === 'number' && Number.isFinite(value)) {
      const sec = Math.floor(value);
      return new EventTime(sec, Math.round((value - sec) * 1e9));
    }
    if (typeof value === 'bigint') return new EventTime(Number(value), 0);
    return undefined;
  }

  toMillis(): number {
    return this.sec * 1000 + Math.floor(this.nsec / 1_000_000);
  }

  toFloat(): number {
    return this.sec + this.nsec / 1e9;
  }

  /** The 8-byte ext payload. */
  toBuffer(): Buffer {
    const b = Buffer.allocUnsafe(8);
    b.writeUInt32BE(this.sec >>> 0, 0);
    b.writeUInt32BE(this.nsec >>> 0, 4);
    return b;
  }

  static fromBuffer(b: Uint8Array): EventTime {
    if (b.length !== 8) throw new RangeError(`EventTime ext payload must be 8 bytes, got ${b.length}`);
    const v = new DataView(b.buffer, b.byteOffset, 8);
    return new EventTime(v.getUint32(0), v.getUint32(4));
  }

  /** Writes the full msgpack encoding (d7 00 + 8 bytes) at `off`; returns the new offset. */
  static writeExt(target: Buffer, off: number, sec: number, nsec: number): number {
    target[off] = 0xd7;
    target[off + 1] = 0x00;
    target.writeUInt32BE(sec >>> 0, off + 2);
    target.writeUInt32BE(nsec >>> 0, off + 6);
    return off + 10;
  }

  equals(o: EventTime): boolean {
    return this.sec === o.sec && this.nsec === o.nsec;
  }

  toString(): string {
    return `${this.sec}.${String(this.nsec).padStart(9, '0')}`;
  }
}
