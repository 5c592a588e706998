// The requests that arrive in one turn of the event loop, emitted together: one batch, one
// emit and one promise per tag per turn instead of per request. Each request is answered
// only once its batch has been accepted (or refused), as when it was emitted alone.
import type { EventBatch } from '../../core/batch.ts';
import { BatchBuilder } from '../../core/batch-builder.ts';
import { SluiceError } from '../../core/errors.ts';
import type { ReceivedRequest } from './server.ts';

interface Open {
  builder: BatchBuilder;
  waiting: ReceivedRequest[];
}

/** Builders kept between turns (one is in use per tag per turn). */
const MAX_IDLE_BUILDERS = 8;

export class EmitCoalescer {
  private open = new Map<string, Open>();
  private readonly idle: BatchBuilder[] = [];
  private scheduled = false;
  private readonly flushNow = () => this.flush();

  /**
   * @param emit the input's ctx.emit
   * @param settled called for each request once its batch is accepted (err undefined) or refused
   */
  constructor(
    private readonly emit: (batch: EventBatch) => Promise<void>,
    private readonly settled: (req: ReceivedRequest, err: unknown) => void,
  ) {}

  /**
   * The builder this turn's events for `tag` go into. A request that turns out bad rolls
   * it back to the `len`/`count` it found; one that added events then calls wait().
   */
  builder(tag: string): BatchBuilder {
    let o = this.open.get(tag);
    if (o === undefined) {
      o = { builder: this.idle.pop() ?? new BatchBuilder(16 * 1024), waiting: [] };
      this.open.set(tag, o);
      if (!this.scheduled) {
        this.scheduled = true;
        // After the poll phase: every request whose bytes came in this turn is in.
        setImmediate(this.flushNow);
      }
    }
    return o.builder;
  }

  /** `req` added events to builder(tag) and is answered when they are accepted. */
  wait(tag: string, req: ReceivedRequest): void {
    this.open.get(tag)!.waiting.push(req);
  }

  private flush(): void {
    this.scheduled = false;
    const batches = this.open;
    this.open = new Map();
    for (const [tag, o] of batches) {
      const { builder, waiting } = o;
      if (builder.count === 0) {
        this.keep(builder);
        continue;
      }
      const batch = builder.lend(tag);
      let done: Promise<void>;
      try {
        done = this.emit(batch);
      } catch (e) {
        done = Promise.reject(e);
      }
      done.then(
        () => this.answer(builder, batch, waiting, undefined),
        (e: unknown) =>
          this.answer(builder, batch, waiting, e ?? new SluiceError('EMIT_FAILED', 'emit failed')),
      );
    }
  }

  private answer(builder: BatchBuilder, batch: EventBatch, waiting: ReceivedRequest[], err: unknown): void {
    // Outputs copy what they keep by the time the emit resolves (the emit contract).
    builder.reclaim(batch);
    this.keep(builder);
    for (let i = 0; i < waiting.length; i++) this.settled(waiting[i]!, err);
  }

  private keep(builder: BatchBuilder): void {
    builder.rollback(0, 0);
    if (this.idle.length < MAX_IDLE_BUILDERS) this.idle.push(builder);
  }
}
