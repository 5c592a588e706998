import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Holds: how a filter that keeps events past the emit that brought them (concat waiting
 * for the rest of a multiline event) tells the input that emitted them. An input that
 * commits positions (in_tail) runs each emit inside a scope; a filter that keeps an event
 * calls `hold()` on the scope current while it filters, and calls the release it gets
 * once the event has gone on (inside a later batch that the outputs accepted, or emitted
 * by a timer and accepted). The input does not commit past a batch with holds not yet
 * released. Inputs without a scope (forward, http) are not told: their acks already mean
 * "accepted", as in Fluentd.
 */
export interface HoldScope {
  /** One event of the current emit is kept; call the result when it has gone on. */
  hold(): () => void;
}

const current = new AsyncLocalStorage<HoldScope>();
let wanted = false;

/**
 * Called by a filter that takes holds when it is built: from then on inputs run their
 * emits in scopes. Until then they do not: an AsyncLocalStorage in use costs every promise
 * of the process a hook, which slows in_tail's `none` path per line (measured in
 * bench/RESULTS.md, "Tail: tail -> null").
 */
export function useHolds(): void {
  wanted = true;
}

/** Whether any filter built so far takes holds (inputs skip the scope otherwise). */
export function holdsInUse(): boolean {
  return wanted;
}

/** The scope of the emit being filtered now, if its input asked to know about holds. */
export function holdScope(): HoldScope | undefined {
  return current.getStore();
}

/** Runs `fn` (an emit) with `scope` as the scope its filters see. */
export function withHoldScope<T>(scope: HoldScope, fn: () => T): T {
  return current.run(scope, fn);
}

/** Counts the holds taken in one emit and calls `onClear` when the last is released. */
export class HoldCounter implements HoldScope {
  pending = 0;
  constructor(private readonly onClear: () => void = () => {}) {}

  hold(): () => void {
    this.pending++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--this.pending === 0) this.onClear();
    };
  }
}
