// The retry side of the engine: one RetryState per run of failures, built from the buffer
// config, and the timer that wakes the writers when the next attempt is due.
import type { BufferConfig } from './params.ts';
import { RetryState } from './retry-state.ts';

export class RetryControl {
  /** set while retrying (from the first failure to the next success or give-up) */
  state: RetryState | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: BufferConfig,
    private readonly hasSecondary: boolean,
    private readonly now: () => number,
    private readonly random: (() => number) | undefined,
    /** called when a retry wait is over */
    private readonly onDue: () => void,
  ) {}

  /** True when an attempt may start now; otherwise arms the timer for when it may. */
  due(): boolean {
    if (!this.state) return true;
    const now = this.now();
    // Compared in seconds, as RetryState.onFailure() compares: in milliseconds the float
    // rounding of nextTime could let an attempt start a hair early, and an output failing
    // at once would then not count as a retry step (retry_max_times would allow one more).
    if (now / 1000 >= this.state.nextTime) return true;
    const wait = this.state.nextTime * 1000 - now;
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.onDue();
      }, wait);
      this.timer.unref();
    }
    return false;
  }

  /** The next attempt goes to <secondary>. */
  toSecondary(): boolean {
    return this.hasSecondary && this.state?.secondary() === true;
  }

  /** Records a failed write; `delayMs` is a delay the output asked for. */
  failed(delayMs: number | undefined): RetryState {
    const cfg = this.config;
    if (this.state) this.state.onFailure();
    else
      this.state = new RetryState(
        {
          type: cfg.retryType,
          wait: cfg.retryWait,
          timeout: cfg.retryTimeout,
          forever: cfg.retryForever,
          maxSteps: cfg.retryMaxTimes,
          backoffBase: cfg.retryBase,
          maxInterval: cfg.retryMaxInterval,
          randomize: cfg.retryRandomize,
          secondary: this.hasSecondary,
          secondaryThreshold: cfg.retrySecondaryThreshold,
        },
        () => this.now() / 1000,
        this.random,
      );
    const s = this.state;
    if (delayMs !== undefined) s.nextTime = Math.max(s.nextTime, (this.now() + delayMs) / 1000);
    return s;
  }

  clear(): void {
    this.state = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
