import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BudgetHolder, MemoryBudget } from '../../src/core/memory-budget.ts';

class Holder implements BudgetHolder {
  evicted: string | undefined;
  constructor(
    readonly name: string,
    private readonly closable = true,
  ) {}
  evict(reason: string): boolean {
    if (!this.closable) return false;
    this.evicted = reason;
    return true;
  }
}

describe('MemoryBudget', () => {
  it('counts claims, never passes the limit, and closes larger holders, largest first, to fit a claim', () => {
    const b = new MemoryBudget(100);
    const [a, c, d, e] = [new Holder('a'), new Holder('c'), new Holder('d'), new Holder('e')];
    assert.equal(b.claim(a, 40), true);
    assert.equal(b.claim(c, 50), true);
    assert.equal(b.used, 90);
    // 30 more does not fit; c (50) and a (40) hold more than 30: c, the largest, goes
    assert.equal(b.claim(d, 30), true);
    assert.ok(c.evicted);
    assert.equal(a.evicted, undefined);
    assert.equal(b.used, 70);
    // a claim that only fits by closing holders no larger than it is refused
    assert.equal(b.claim(e, 45), false);
    assert.equal(a.evicted, undefined);
    assert.equal(b.used, 70);
    // shrinking always works; releasing lets go
    assert.equal(b.claim(a, 10), true);
    b.release(a);
    b.release(d);
    assert.equal(b.used, 0);
    assert.equal(b.holders, 0);
    assert.ok(b.peak <= 100);
    assert.equal(b.claim(e, 101), false);
  });

  it('a holder that cannot be closed now (its body is being processed) keeps its bytes', () => {
    const b = new MemoryBudget(100);
    const busy = new Holder('busy', false);
    assert.equal(b.claim(busy, 80), true);
    assert.equal(b.claim(new Holder('x'), 30), false);
    assert.equal(b.used, 80);
    assert.deepEqual(b.sizes(), [80]);
  });
});
