// Fluentd's retry state machine (lib/fluent/plugin_helper/retry_state.rb), formula for
// formula, so a retry schedule tuned for Fluentd behaves the same here. Times are in
// seconds (floats), read from an injected clock so every schedule is unit-testable.

export interface RetryOptions {
  type: 'exponential_backoff' | 'periodic';
  /** retry_wait, seconds */
  wait: number;
  /** retry_timeout, seconds */
  timeout: number;
  forever: boolean;
  /** retry_max_times */
  maxSteps?: number;
  backoffBase: number;
  /** retry_max_interval, seconds */
  maxInterval?: number;
  randomize: boolean;
  randomizeWidth?: number;
  /** true when the output has a <secondary> */
  secondary: boolean;
  secondaryThreshold: number;
}

export class RetryState {
  readonly start: number;
  steps = 0;
  nextTime: number;
  readonly timeoutAt: number;
  current: 'primary' | 'secondary' = 'primary';
  readonly secondaryTransitionAt: number | undefined;
  secondaryTransitionSteps: number | undefined;
  private readonly width: number;

  constructor(
    private readonly o: RetryOptions,
    private readonly now: () => number,
    private readonly rand: () => number = Math.random,
  ) {
    this.start = now();
    this.timeoutAt = this.start + o.timeout;
    this.width = o.randomizeWidth ?? 0.125;
    if (o.secondary) {
      let maxRetryTimeout = o.timeout;
      if (o.maxSteps !== undefined) {
        const byMax = this.calcMaxRetryTimeout(o.maxSteps);
        if (byMax < maxRetryTimeout) maxRetryTimeout = byMax;
      }
      this.secondaryTransitionAt = this.start + maxRetryTimeout * o.secondaryThreshold;
    }
    // The first retry waits exactly retry_wait, unrandomized, for both types.
    this.nextTime = this.start + o.wait;
  }

  private randomize(interval: number): number {
    if (!this.o.randomize) return interval;
    return interval + interval * this.width * (2 * this.rand() - 1.0);
  }

  private rawInterval(num: number): number {
    return this.o.wait * this.o.backoffBase ** num;
  }

  /** Interval before retry number `num` (1-based): wait * base^(num-1), capped. */
  calcInterval(num: number): number {
    if (this.o.type === 'periodic') return this.o.wait;
    let interval = this.rawInterval(num - 1);
    if (this.o.maxInterval !== undefined && interval > this.o.maxInterval) return this.o.maxInterval;
    while (!Number.isFinite(interval)) {
      num -= 1;
      interval = this.rawInterval(num - 1);
    }
    return interval;
  }

  private calcMaxRetryTimeout(maxSteps: number): number {
    if (this.o.type === 'periodic') return this.o.wait * maxSteps;
    let r = 0;
    for (let i = 0; i < maxSteps; i++) r += this.calcInterval(i + 1);
    return r;
  }

  private naiveNextTime(retryTimes: number): number {
    return this.now() + this.randomize(this.calcInterval(retryTimes));
  }

  private calcNextTime(): number {
    const o = this.o;
    if (o.forever || !o.secondary) {
      const naive = this.naiveNextTime(this.steps);
      if (o.forever) return naive;
      return Math.min(naive, this.timeoutAt);
    }
    if (this.current === 'primary') {
      const naive = this.naiveNextTime(this.steps);
      return Math.min(naive, this.secondaryTransitionAt!);
    }
    const naive = this.naiveNextTime(this.steps - this.secondaryTransitionSteps! + 1);
    return Math.min(naive, this.timeoutAt);
  }

  /** True when the next attempt must go to the secondary output. */
  secondary(): boolean {
    const o = this.o;
    return (
      !o.forever && o.secondary && (this.current === 'secondary' || this.now() >= this.secondaryTransitionAt!)
    );
  }

  step(): void {
    this.steps += 1;
    const o = this.o;
    if (
      !o.forever &&
      o.secondary &&
      this.current !== 'secondary' &&
      this.now() >= this.secondaryTransitionAt!
    ) {
      this.current = 'secondary';
      this.secondaryTransitionSteps = this.steps;
    }
    this.nextTime = this.calcNextTime();
  }

  recalcNextTime(): void {
    this.nextTime = this.calcNextTime();
  }

  /** Retries are exhausted (never with retry_forever). */
  limit(): boolean {
    if (this.o.forever) return false;
    return (
      this.nextTime >= this.timeoutAt || (this.o.maxSteps !== undefined && this.steps >= this.o.maxSteps)
    );
  }

  /**
   * What Fluentd's Output#update_retry_state does on each failed flush: the first failure
   * only creates the state; later ones step when the scheduled time has come (several
   * concurrent failures before it only recompute it).
   */
  onFailure(): void {
    if (this.now() >= this.nextTime) this.step();
    else this.recalcNextTime();
  }
}
