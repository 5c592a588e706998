import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { BufferPool, MIN_POOLED } from '../../src/core/buffer-pool.ts';

describe('BufferPool', () => {
  it('hands back the largest idle buffer when it is large enough, else nothing', () => {
    const pool = new BufferPool(4);
    const small = Buffer.allocUnsafeSlow(MIN_POOLED);
    const big = Buffer.allocUnsafeSlow(4 * MIN_POOLED);
    pool.give(big);
    pool.give(small);
    assert.equal(pool.take(8 * MIN_POOLED), undefined);
    assert.equal(pool.take(2 * MIN_POOLED), big);
    assert.equal(pool.take(2 * MIN_POOLED), undefined);
    assert.equal(pool.take(), small);
    assert.equal(pool.take(), undefined);
    pool.clear();
  });

  it('takes back the whole memory behind a view at its start', () => {
    const pool = new BufferPool(2);
    const whole = Buffer.allocUnsafeSlow(2 * MIN_POOLED);
    pool.give(whole.subarray(0, 10));
    const back = pool.take(2 * MIN_POOLED)!;
    assert.equal(back.length, 2 * MIN_POOLED);
    assert.equal(back.buffer, whole.buffer);
    pool.clear();
  });

  it('never keeps views into the middle of memory, small buffers, or more than maxIdle', () => {
    const pool = new BufferPool(2);
    pool.give(Buffer.allocUnsafeSlow(3 * MIN_POOLED).subarray(1));
    pool.give(Buffer.allocUnsafe(100)); // may live in Node's shared allocation pool
    pool.give(Buffer.allocUnsafeSlow(MIN_POOLED - 1));
    assert.equal(pool.idleBytes, 0);
    for (const n of [1, 3, 2]) pool.give(Buffer.allocUnsafeSlow(n * MIN_POOLED));
    // the smallest went first
    assert.equal(pool.idleBytes, 5 * MIN_POOLED);
    pool.clear();
    assert.equal(pool.idleBytes, 0);
  });

  it('lets its buffers go after a quiet spell', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const pool = new BufferPool(2, 1000);
      pool.give(Buffer.allocUnsafeSlow(MIN_POOLED));
      mock.timers.tick(600);
      pool.give(Buffer.allocUnsafeSlow(MIN_POOLED));
      mock.timers.tick(600);
      assert.equal(pool.idleBytes, 2 * MIN_POOLED, 'the quiet spell starts again at each use');
      mock.timers.tick(500);
      assert.equal(pool.idleBytes, 0);
    } finally {
      mock.timers.reset();
    }
  });
});
