import type { EventBatch } from '../../src/core/batch.ts';
import forwardInput, { type ForwardInput } from '../../src/plugins/input/forward/index.ts';
import { instantiate, type TestContext, testContext } from '../../src/testing/context.ts';

/** Counts emitted events and lets a test wait for a count (bounded, event-driven, no sleeps). */
export class Counter {
  n = 0;
  private waiters: { n: number; resolve: () => void }[] = [];
  add(k: number): void {
    this.n += k;
    const due = this.waiters.filter((w) => this.n >= w.n);
    this.waiters = this.waiters.filter((w) => this.n < w.n);
    for (const w of due) w.resolve();
  }
  waitFor(n: number, ms = 10_000): Promise<void> {
    if (this.n >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${n} events (have ${this.n})`)), ms);
      this.waiters.push({
        n,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      });
    });
  }
}

export interface Started {
  input: ForwardInput;
  ctx: TestContext;
  port: number;
  counter: Counter;
  stop(): Promise<void>;
}

/** Starts a forward input from a `<source>` body (without the directive lines), port 0 on 127.0.0.1. */
export async function startInput(
  body: string,
  onEmit?: (b: EventBatch) => Promise<void> | void,
): Promise<Started> {
  const counter = new Counter();
  const ctx = testContext({
    type: 'forward',
    onEmit: async (b) => {
      await onEmit?.(b);
      // counted after the test's hook let it through, just before it is recorded
      queueMicrotask(() => counter.add(b.count));
    },
  });
  const snippet = `<source>\n@type forward\nbind 127.0.0.1\nport 0\n${body}\n</source>\n`;
  const { plugin } = instantiate(forwardInput, snippet, ctx);
  await plugin.start();
  return { input: plugin, ctx, port: plugin.address.port, counter, stop: () => plugin.stop() };
}
