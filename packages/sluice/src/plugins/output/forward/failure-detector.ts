// Fluentd's out_forward failure detector (phi accrual, Hayashibara et al.), kept
// numerically the same so phi_threshold values carry over: heartbeat gaps in a window
// of 1000, a linearly weighted mean, phi = (now - last - interval + 1) / mean / ln 10.

const PHI_FACTOR = 1 / Math.log(10);
const SAMPLE_SIZE = 1000;

export class FailureDetector {
  private window: number[];
  private last: number;

  constructor(
    private readonly heartbeatInterval: number,
    private readonly hardTimeout: number,
    now: number,
  ) {
    this.window = [heartbeatInterval];
    this.last = now;
  }

  hardTimedOut(now: number): boolean {
    return now - this.last > this.hardTimeout;
  }

  /** Records a heartbeat arrival (seconds). */
  add(now: number): void {
    if (this.window.length === 0) {
      this.window.push(this.heartbeatInterval);
    } else {
      this.window.push(now - this.last);
      if (this.window.length > SAMPLE_SIZE) this.window.shift();
    }
    this.last = now;
  }

  phi(now: number): number {
    const n = this.window.length;
    if (n === 0) return 0;
    let sum = 0;
    let fact = 0;
    for (let i = 0; i < n; i++) {
      sum += this.window[i]! * (i + 1);
      fact += i + 1;
    }
    const mean = sum / fact - this.heartbeatInterval + 1;
    const t = now - this.last - this.heartbeatInterval + 1;
    return (PHI_FACTOR * t) / mean;
  }

  get sampleSize(): number {
    return this.window.length;
  }

  clear(now: number): void {
    this.window = [];
    this.last = now;
  }
}
