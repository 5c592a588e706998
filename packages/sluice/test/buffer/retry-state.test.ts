import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BufferConfig } from '../../src/buffer/params.ts';
import { RetryControl } from '../../src/buffer/retry-control.ts';
import { type RetryOptions, RetryState } from '../../src/buffer/retry-state.ts';

const base: RetryOptions = {
  type: 'exponential_backoff',
  wait: 1,
  timeout: 72 * 3600,
  forever: false,
  backoffBase: 2,
  randomize: false,
  secondary: false,
  secondaryThreshold: 0.8,
};

/** Runs failures at exactly each scheduled time; returns the intervals between attempts. */
function schedule(o: Partial<RetryOptions>, failures: number, rand?: () => number) {
  let t = 1000;
  const r = new RetryState({ ...base, ...o }, () => t, rand);
  const intervals: number[] = [];
  const limits: boolean[] = [];
  const secondary: boolean[] = [];
  for (let i = 0; i < failures; i++) {
    if (i > 0) r.onFailure();
    intervals.push(Number((r.nextTime - t).toFixed(6)));
    limits.push(r.limit());
    t = r.nextTime;
    secondary.push(r.secondary());
  }
  return { intervals, limits, secondary, r };
}

describe('retry schedule (Fluentd retry_state.rb)', () => {
  it('exponential backoff: wait, then wait*base^(n-1)', () => {
    const { intervals } = schedule({}, 7);
    assert.deepEqual(intervals, [1, 1, 2, 4, 8, 16, 32]);
  });

  it('exponential backoff with another base and wait', () => {
    const { intervals } = schedule({ wait: 0.5, backoffBase: 3 }, 5);
    assert.deepEqual(intervals, [0.5, 0.5, 1.5, 4.5, 13.5]);
  });

  it('retry_max_interval caps each interval', () => {
    const { intervals } = schedule({ maxInterval: 5 }, 7);
    assert.deepEqual(intervals, [1, 1, 2, 4, 5, 5, 5]);
  });

  it('randomize spreads each interval by at most +-12.5% (first retry exact)', () => {
    const lo = schedule({ randomize: true }, 5, () => 0).intervals;
    const hi = schedule({ randomize: true }, 5, () => 1).intervals;
    assert.deepEqual(lo, [1, 0.875, 1.75, 3.5, 7]);
    assert.deepEqual(hi, [1, 1.125, 2.25, 4.5, 9]);
  });

  it('periodic: always retry_wait', () => {
    const { intervals } = schedule({ type: 'periodic', wait: 3 }, 5);
    assert.deepEqual(intervals, [3, 3, 3, 3, 3]);
  });

  it('retry_timeout: the last retry is clamped to the timeout, then the limit is hit', () => {
    const { intervals, limits } = schedule({ timeout: 10 }, 5);
    // attempts at +1, +2, +4, +8, then clamped to +10
    assert.deepEqual(intervals, [1, 1, 2, 4, 2]);
    assert.deepEqual(limits, [false, false, false, false, true]);
  });

  it('retry_max_times: gives up after that many retries', () => {
    const { limits } = schedule({ maxSteps: 3 }, 4);
    assert.deepEqual(limits, [false, false, false, true]);
    assert.equal(schedule({ maxSteps: 0 }, 1).limits[0], true);
  });

  it('retry_forever ignores timeout and max_times', () => {
    const { limits, intervals } = schedule({ forever: true, timeout: 3, maxSteps: 2, maxInterval: 60 }, 12);
    assert.ok(limits.every((l) => !l));
    assert.equal(intervals.at(-1), 60);
  });

  it('secondary threshold: switches to the secondary after 80% of the retry time', () => {
    // max retry timeout by max_steps 5: 1+2+4+8+16 = 31s; transition at 0.8*31 = 24.8s
    const { r, secondary } = schedule({ secondary: true, maxSteps: 5, timeout: 1000 }, 6);
    assert.equal((r.secondaryTransitionAt! - r.start).toFixed(6), '24.800000');
    // attempts at +1, +2, +4, +8, +16 (primary), then clamped to +24.8 -> secondary
    assert.deepEqual(secondary, [false, false, false, false, false, true]);
  });

  it('secondary with timeout only: transition at threshold * retry_timeout, then limit at timeout', () => {
    let t = 0;
    const r = new RetryState(
      { ...base, type: 'periodic', wait: 10, timeout: 100, secondary: true, secondaryThreshold: 0.5 },
      () => t,
    );
    const seen: string[] = [];
    for (let i = 0; i < 12 && !r.limit(); i++) {
      t = r.nextTime;
      seen.push(r.secondary() ? 's' : 'p');
      r.onFailure();
    }
    // attempts at 10..40 primary; from 50 (0.5 * 100s) on the secondary, until the 100s timeout
    assert.equal(seen.join(''), 'ppppsssss');
    assert.equal(r.nextTime, 100);
    assert.ok(r.limit());
  });

  it('failures before the scheduled time do not advance the step', () => {
    let t = 0;
    const r = new RetryState(base, () => t);
    t = 0.5;
    r.onFailure();
    assert.equal(r.steps, 0);
    t = 1;
    r.onFailure();
    assert.equal(r.steps, 1);
  });
});

describe('RetryControl', () => {
  it('an attempt it lets start, failing at once, always counts as a retry step', () => {
    const config = {
      retryType: 'exponential_backoff',
      retryWait: 0.005,
      retryTimeout: 72 * 3600,
      retryForever: false,
      retryMaxTimes: 2,
      retryBase: 2,
      retryRandomize: false,
      retrySecondaryThreshold: 0.8,
    } as BufferConfig;
    // Millisecond clocks at which nextTime (seconds, a float) rounds differently in ms and
    // in s: the attempt used to be let start a hair early and its failure did not step.
    for (const t0 of [1795324197069, 1795324197092, 1795324197194, 1795324197217, 1795324197319]) {
      let now = t0;
      const c = new RetryControl(
        config,
        false,
        () => now,
        undefined,
        () => undefined,
      );
      c.failed(undefined); // the first failure: the schedule starts
      for (let step = 1; step <= 2; step++) {
        let waited = 0;
        while (!c.due() && waited++ < 1000) now++;
        const s = c.failed(undefined); // fails in the same millisecond it was let start
        assert.equal(s.steps, step, `clock ${t0}: failure ${step + 1} is retry step ${step}`);
      }
      assert.equal(c.state!.limit(), true, `clock ${t0}: retry_max_times 2 reached after 3 attempts`);
      c.clear();
    }
  });
});
