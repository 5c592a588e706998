// FrameDecoder with a pool: frames that span reads are assembled in pooled buffers, and a
// frame given back by recycle() lends its memory to a later frame without changing any
// frame's bytes while it is in use (issue 26: no allocation per frame in in_forward).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encode, FrameDecoder } from '../src/index.ts';

class Pool {
  idle: Buffer[] = [];
  taken = 0;
  given = 0;
  take(size: number): Buffer | undefined {
    const i = this.idle.findIndex((b) => b.length >= size);
    if (i < 0) return undefined;
    this.taken++;
    return this.idle.splice(i, 1)[0];
  }
  give(buf: Buffer): void {
    this.given++;
    this.idle.push(buf);
  }
}

const frame = (i: number) => encode(['tag', Buffer.alloc(40_000, i & 0xff), { chunk: `c${i}` }]);

describe('FrameDecoder with a pool', () => {
  it('reuses the memory of recycled frames and returns every frame intact', () => {
    const pool = new Pool();
    const dec = new FrameDecoder({ maxFrameSize: 1 << 20, pool });
    const stream = Buffer.concat(Array.from({ length: 20 }, (_, i) => frame(i)));
    const got: Buffer[] = [];
    // 7,000-byte reads: every frame spans several.
    for (let o = 0; o < stream.length; o += 7000) {
      dec.push(stream.subarray(o, o + 7000));
      const round: Buffer[] = [];
      for (let f = dec.next(); f !== undefined; f = dec.next()) round.push(f);
      // what an input does with a round: use the frames, then let them go
      for (const f of round) got.push(Buffer.from(f));
      for (const f of round) dec.recycle(f);
    }
    assert.equal(got.length, 20);
    for (let i = 0; i < 20; i++) assert.deepEqual(got[i], frame(i), `frame ${i}`);
    assert.ok(pool.given >= 10, `frames given back: ${pool.given}`);
    assert.ok(pool.taken >= 10, `assembly buffers reused: ${pool.taken}`);
  });

  it('never gives back the buffer an unfinished frame is still in', () => {
    const pool = new Pool();
    const dec = new FrameDecoder({ maxFrameSize: 1 << 20, pool });
    const a = frame(1);
    const b = frame(2);
    // a spans two reads; the second read also holds the start of b
    dec.push(a.subarray(0, 30_000));
    dec.push(Buffer.concat([a.subarray(30_000), b.subarray(0, 100)]));
    const fa = dec.next()!;
    assert.deepEqual(Buffer.from(fa), a);
    assert.equal(dec.next(), undefined);
    dec.recycle(fa); // a's buffer still holds the start of b: kept out of the pool
    assert.equal(pool.given, 0);
    dec.push(b.subarray(100));
    assert.deepEqual(Buffer.from(dec.next()!), b);
  });
});
