// The buffer engine shared by every buffered output: stages events into chunks by chunk
// keys, enqueues them (full, interval, timekey, immediate), writes them with
// flush_thread_count concurrent write() calls, retries on Fluentd's schedule, hands
// chunks to <secondary>, applies overflow_action, and backs up what cannot be delivered.
// This file is the lifecycle and the flush loop; the parts are chunk-queue.ts (staging,
// queue, timers), overflow.ts (total_limit_size), delivery.ts (write, secondary, backup),
// retry-control.ts and metrics.ts.
import type { ConfigElement } from '../config/ast.ts';
import { resolve } from '../config/schema.ts';
import type { EventBatch } from '../core/batch.ts';
import { ConfigError, errorCodeOf, SluiceError, type SourceLocation } from '../core/errors.ts';
import { checkPlaceholders } from '../core/placeholders.ts';
import type { OutputPlugin, PluginContext, PluginDescriptor } from '../core/plugin.ts';
import { ChunkKeyer } from './chunk-keys.ts';
import { ChunkQueue, type LiveChunk } from './chunk-queue.ts';
import { backupChunk, type DeliveryTargets, deliver } from './delivery.ts';
import { type BufferMetrics, newCounters, snapshot } from './metrics.ts';
import { SpaceGate } from './overflow.ts';
import { type BufferConfig, bufferConfigOf, COMMON_BUFFER_PARAMS, withDefaultParams } from './params.ts';
import { RetryControl } from './retry-control.ts';
import type { ChunkStore } from './store.ts';

export type { BufferMetrics } from './metrics.ts';

export interface BufferedOutputOptions {
  descriptor: PluginDescriptor;
  output: OutputPlugin;
  /** the <buffer ...> section (arg = chunk keys), may be absent */
  bufferElement: ConfigElement | undefined;
  /** built (and started/stopped) by the engine from <secondary> */
  secondary?: OutputPlugin;
  ctx: PluginContext;
  /**
   * Finds the store plugin of a `<buffer @type>` (the engine passes its registry): the
   * buffer engine is below the engine and does not look plugins up itself.
   */
  loadStore(type: string, at?: SourceLocation): Promise<PluginDescriptor>;
  /** the output's own element: its parameters' placeholders are checked against the chunk keys */
  outputElement?: ConfigElement;
  /** upper bound of stop(), ms (default 10 s) */
  stopTimeoutMs?: number;
  /** clock (ms) and random source, injectable for tests */
  now?: () => number;
  random?: () => number;
}

export interface BufferedOutput {
  emit(batch: EventBatch): Promise<void>;
  /** An input's hint that it has read all it had for `tag` (flush_when_caught_up acts on it). */
  caughtUp(tag: string): void;
  start(): Promise<void>;
  flushAll(): Promise<void>;
  stop(): Promise<void>;
  metrics(): BufferMetrics;
  readonly config: BufferConfig;
}

/** Builds the buffer of an output from its <buffer> section. Throws ConfigError on bad params. */
export async function createBufferedOutput(o: BufferedOutputOptions): Promise<BufferedOutput> {
  let el = o.bufferElement;
  const typeParam = el?.params.findLast((p) => p.key === '@type' || p.key === 'type');
  const defaults = o.descriptor.bufferDefaults ?? {};
  let type = typeParam?.value ?? defaults.type ?? 'memory';
  if (!typeParam && type === 'file' && !o.ctx.stateDir && !el?.params.some((p) => p.key === 'path')) {
    // Fluentd's out_file keeps its default file buffer at the output's own path
    // (`buffer_conf['path'] = conf['path']`: /fluentd/log/app.*.log -> app.b<id>.log beside
    // the output files), so accepted events survive a crash with no <buffer> written.
    const path = o.outputElement ? defaults.path?.(o.outputElement) : undefined;
    if (path) {
      const at = el?.location ?? o.outputElement!.location;
      el = {
        ...(el ?? { name: 'buffer', arg: '', elements: [], location: at }),
        params: [...(el?.params ?? []), { key: 'path', value: path, location: at }],
      };
    } else {
      o.ctx.logger.warn(
        { code: 'BUFFER_IN_MEMORY', output: o.ctx.id },
        "no <buffer> path and no <system> root_dir: this output's buffer is kept in memory (lost on a crash)",
      );
      type = 'memory';
    }
  }
  const backend = await o.loadStore(type, typeParam?.location ?? el?.location);
  const element = withDefaultParams(el, defaults.params);
  const resolved = resolve(
    { params: { ...backend.schema.params, ...COMMON_BUFFER_PARAMS } },
    element,
    `<buffer> of ${o.ctx.id}`,
  );
  const store = backend.create(resolved, o.ctx) as ChunkStore;
  const config = bufferConfigOf(type, resolved.params, el, defaults, store.defaults);
  const keys = config.keys;
  store.chunkLimit?.(config.chunkLimitSize);
  // A secondary writes the primary's chunks, so it works with the primary's buffer settings.
  o.output.useBuffer?.(config);
  o.secondary?.useBuffer?.(config);
  if (o.outputElement) {
    const specs = Object.entries(o.descriptor.schema.params);
    const spec = (key: string) => specs.find(([n, s]) => n === key || s.aliases?.includes(key))?.[1];
    for (const p of o.outputElement.params) {
      if (p.key.startsWith('@')) continue;
      checkPlaceholders(p.key, p.value, keys, p.location, { time: !spec(p.key)?.eventTimeFormat });
    }
  }
  if (!o.output.write)
    throw new ConfigError(
      `output ${o.ctx.id} has no write() and cannot be buffered`,
      o.outputElement?.location,
    );
  return new BufferEngine(o, config, store);
}

class BufferEngine implements BufferedOutput {
  private readonly counters = newCounters();
  private readonly chunks: ChunkQueue;
  private readonly space: SpaceGate;
  private readonly retry: RetryControl;
  private readonly targets: DeliveryTargets;
  /** a chunk failed during shutdown: stop attempting */
  private shutdownFailed = false;
  private idleWaiters: (() => void)[] = [];
  /** backups and purges in progress; stop() waits for them */
  private readonly ops = new Set<Promise<void>>();
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private readonly keyer: ChunkKeyer;
  private readonly now: () => number;

  constructor(
    private readonly o: BufferedOutputOptions,
    readonly config: BufferConfig,
    private readonly store: ChunkStore,
  ) {
    this.keyer = new ChunkKeyer(config.keys, config.timekey, config.zone);
    this.now = o.now ?? Date.now;
    this.chunks = new ChunkQueue(config, store, o.ctx, this.counters, this.now, () => this.dispatch());
    this.space = new SpaceGate(
      config,
      o.ctx.id,
      () => this.chunks.bytes,
      () => this.dropOldest(),
    );
    const hasSecondary = o.secondary?.write !== undefined;
    this.retry = new RetryControl(config, hasSecondary, this.now, o.random, () => this.dispatch());
    this.targets = { output: o.output, secondary: o.secondary, store, config, ctx: o.ctx };
  }

  private get log() {
    return this.o.ctx.logger;
  }

  async start(): Promise<void> {
    const resumed = await this.store.open();
    this.chunks.resume(resumed);
    if (resumed.length > 0) {
      this.log.info(
        { output: this.o.ctx.id, chunks: resumed.length, events: resumed.reduce((n, c) => n + c.count, 0) },
        'resumed buffer chunks',
      );
    }
    this.state = 'running';
    // flush_mode immediate flushes on each write; a chunk resumed staged would otherwise wait
    // for the next write to its key, possibly forever (seen in test/e2e/http-seed003).
    if (this.config.flushMode === 'immediate') this.chunks.enqueueAll();
    this.dispatch();
  }

  async emit(batch: EventBatch): Promise<void> {
    if (this.state !== 'running')
      throw new SluiceError(
        'BUFFER_NOT_RUNNING',
        `output ${this.o.ctx.id} is ${this.state === 'new' ? 'not started' : 'stopped'}; event batch refused`,
      );
    this.counters.emitCount++;
    this.counters.emitRecords += batch.count;
    if (batch.count === 0) return;
    const groups = this.keyer.split(batch);
    let need = 0;
    for (const g of groups) need += g.bytes.length;
    if (!this.space.tryReserve(need)) await this.space.makeRoom(need);
    // add() counts the bytes before its first await: the reservation is theirs now.
    this.space.release(need);
    await this.chunks.add(groups);
  }

  caughtUp(tag: string): void {
    if (this.config.flushWhenCaughtUp && this.state === 'running') this.chunks.enqueueTag(tag);
  }

  /** drop_oldest_chunk: one chunk is not written anywhere. */
  private dropOldest(): boolean {
    const victim = this.chunks.takeOldest();
    if (!victim) return false;
    this.log.warn(
      { code: 'BUFFER_DROP_OLDEST', output: this.o.ctx.id, chunk: victim.id, events: victim.count },
      'buffer full: dropped the oldest chunk (overflow_action drop_oldest_chunk)',
    );
    this.counters.dropCount += victim.count;
    void this.purge(victim);
    return true;
  }

  // ---- flushing ---------------------------------------------------------------------

  private dispatch(): void {
    if (this.state === 'new' || this.state === 'stopped') return;
    if (this.state === 'stopping') {
      if (this.config.flushAtShutdown && !this.shutdownFailed) this.dispatchForShutdown();
    } else this.dispatchRunning();
    if (!this.chunks.writing) this.notifyIdle();
  }

  private dispatchRunning(): void {
    while (this.chunks.queue.length > 0) {
      // While retrying, one chunk at a time probes the destination; full concurrency
      // resumes after a success.
      const limit = this.retry.state ? 1 : this.config.flushThreadCount;
      if (this.chunks.flushing.size >= limit || !this.retry.due()) return;
      void this.flush(this.chunks.take());
    }
  }

  private dispatchForShutdown(): void {
    while (this.chunks.queue.length > 0 && this.chunks.flushing.size < this.config.flushThreadCount)
      void this.flush(this.chunks.take());
  }

  private async flush(c: LiveChunk): Promise<void> {
    const { result: r, viaSecondary } = await deliver(this.targets, c, this.retry.toSecondary());
    this.chunks.finished(c);
    if (r.status === 'ok') {
      if (viaSecondary) this.counters.secondaryCount++;
      this.counters.writeCount++;
      this.counters.writeRecords += c.count;
      if (this.retry.state)
        this.log.info({ output: this.o.ctx.id, retries: this.retry.state.steps }, 'retry succeeded');
      this.retry.clear();
      await this.purge(c);
    } else if (r.status === 'fatal') {
      this.counters.lastError = r.error.message;
      this.log.error(
        {
          code: errorCodeOf(r.error) ?? 'OUTPUT_WRITE_FAILED',
          output: this.o.ctx.id,
          chunk: c.id,
          err: r.error,
        },
        'unrecoverable error writing chunk',
      );
      const p = this.giveUp(c);
      this.track(p);
      await p;
    } else {
      this.onRetry(c, r.error, r.delayMs);
    }
    this.dispatch();
  }

  private onRetry(c: LiveChunk, error: Error, delayMs: number | undefined): void {
    this.counters.retryCount++;
    this.counters.lastError = error.message;
    this.chunks.requeue(c);
    if (this.state === 'stopping') {
      this.shutdownFailed = true;
      return;
    }
    const retry = this.retry.failed(delayMs);
    if (retry.limit()) {
      const queue = this.chunks.queue.splice(0);
      this.log.error(
        {
          code: 'BUFFER_RETRIES_EXHAUSTED',
          output: this.o.ctx.id,
          retries: retry.steps,
          events: queue.reduce((n, q) => n + q.count, 0),
          err: error,
        },
        'hit the limit for retries; giving up on every queued chunk',
      );
      this.retry.clear();
      for (const q of queue) this.track(this.giveUp(q));
      return;
    }
    this.log.warn(
      {
        code: errorCodeOf(error) ?? 'BUFFER_RETRY',
        output: this.o.ctx.id,
        chunk: c.id,
        retries: retry.steps,
        next_retry: new Date(retry.nextTime * 1000).toISOString(),
        err: error.message,
      },
      'failed to flush the buffer; will retry',
    );
  }

  /** Frees the chunk's space now; the files go in the background (flushAll and stop wait for it). */
  private purge(c: LiveChunk): Promise<void> {
    this.chunks.release(c);
    this.space.wake();
    const p = this.store.purge(c).catch((e: unknown) => {
      this.log.error(
        { code: 'BUFFER_IO_FAILED', output: this.o.ctx.id, chunk: c.id, err: e },
        'could not delete a delivered chunk (it may be delivered again after a restart)',
      );
    });
    this.track(p);
    return p;
  }

  /** Delivery is impossible: back the chunk up (unless disabled) and forget it. */
  private async giveUp(c: LiveChunk): Promise<void> {
    this.counters.dropCount += c.count;
    if (!this.config.disableChunkBackup && (await backupChunk(this.store, c, this.o.ctx)))
      this.counters.backupCount++;
    await this.purge(c);
  }

  private track(p: Promise<void>): void {
    this.ops.add(p);
    void p.finally(() => this.ops.delete(p));
  }

  // ---- draining and shutdown --------------------------------------------------------

  private notifyIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /** Resolves once `done()` holds, checked each time no write is in flight. */
  private idleWhen(done: () => boolean): Promise<void> {
    return new Promise((res) => {
      const check = () => {
        if (done()) res();
        else this.idleWaiters.push(check);
      };
      check();
    });
  }

  async flushAll(): Promise<void> {
    if (this.state !== 'running') return;
    this.chunks.enqueueAll();
    this.dispatch();
    // Done when nothing is queued or writing, or when a retry wait stops progress.
    await this.idleWhen(() => this.chunks.empty || (this.retry.state !== undefined && !this.chunks.writing));
    await Promise.all(this.ops);
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    const wasRunning = this.state === 'running';
    this.state = 'stopping';
    this.chunks.stopTimers();
    this.space.failAll(
      new SluiceError(
        'BUFFER_NOT_RUNNING',
        `output ${this.o.ctx.id} stopped while the emit waited for buffer space; batch refused`,
      ),
    );
    if (wasRunning && this.config.flushAtShutdown) {
      this.chunks.enqueueAll();
      // One more attempt for everything now, whatever the retry schedule says.
      this.retry.clear();
      this.dispatchForShutdown();
    }
    // Done when no write is in flight: at shutdown a chunk that fails again stays queued;
    // without flush_at_shutdown, writes in flight finish so their chunks are purged, not
    // redelivered. Bounded either way.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.idleWhen(() => !this.chunks.writing),
      new Promise<void>((r) => (timer = setTimeout(r, this.o.stopTimeoutMs ?? 10_000))),
    ]);
    clearTimeout(timer);
    this.retry.clear();
    const left = this.chunks.all();
    if (left.length > 0) {
      const events = left.reduce((n, c) => n + c.count, 0);
      if (this.store.kind === 'memory')
        this.log.error(
          { code: 'BUFFER_LOST', output: this.o.ctx.id, chunks: left.length, events },
          'memory buffer stopped with undelivered events; they are lost',
        );
      else
        this.log.info(
          { output: this.o.ctx.id, chunks: left.length, events },
          'file buffer keeps undelivered chunks for the next start',
        );
    }
    this.state = 'stopped';
    await Promise.all(this.ops);
    await this.store.close();
  }

  metrics(): BufferMetrics {
    return snapshot(this.counters, this.chunks, this.retry.state, this.now());
  }
}
