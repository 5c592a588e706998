// The buffer engine shared by every buffered output: stages events into chunks by chunk
// keys, enqueues them (full, interval, timekey, immediate), writes them with
// flush_thread_count concurrent write() calls, retries on Fluentd's schedule, hands
// chunks to <secondary>, applies overflow_action, and backs up what cannot be delivered.
import { join } from 'node:path';
import type { ConfigElement } from '../config/ast.ts';
import { resolve } from '../config/schema.ts';
import { decodeEntries, type Entry, type EventBatch } from '../core/batch.ts';
import { BufferOverflowError, ConfigError } from '../core/errors.ts';
import { checkPlaceholders, expandPlaceholders } from '../core/placeholders.ts';
import type { Chunk, OutputPlugin, PluginContext, PluginDescriptor, WriteResult } from '../core/plugin.ts';
import { loadPlugin } from '../plugins/registry.ts';
import { ChunkKeyer, type Group } from './chunk-keys.ts';
import { scanEntries } from './msgpack-scan.ts';
import { type BufferConfig, COMMON_BUFFER_PARAMS, parseChunkKeys, toBufferConfig } from './params.ts';
import { RetryState } from './retry-state.ts';
import { type ChunkStore, defaultRootDir, type StoredChunk } from './store.ts';

export interface BufferedOutputOptions {
  descriptor: PluginDescriptor;
  output: OutputPlugin;
  /** the <buffer ...> section (arg = chunk keys), may be absent */
  bufferElement: ConfigElement | undefined;
  /** built (and started/stopped) by the engine from <secondary> */
  secondary?: OutputPlugin;
  ctx: PluginContext;
  /** the output's own element: its parameters' placeholders are checked against the chunk keys */
  outputElement?: ConfigElement;
  /** upper bound of stop(), ms (default 10 s) */
  stopTimeoutMs?: number;
  /** clock (ms) and random source, injectable for tests */
  now?: () => number;
  random?: () => number;
}

export interface BufferMetrics {
  stagedBytes: number;
  stagedChunks: number;
  queuedBytes: number;
  queuedChunks: number;
  emitCount: number;
  emitRecords: number;
  writeCount: number;
  writeRecords: number;
  retryCount: number;
  /** events dropped: drop_oldest_chunk, retries exhausted, fatal errors, oversized records */
  dropCount: number;
  backupCount: number;
  secondaryCount: number;
  /** ms since the epoch, while retrying */
  nextRetryAt: number | undefined;
  /** ms since the epoch when the current run of failures began (monitor_agent's retry.start) */
  retryStartAt?: number;
  /** failures in the current run (monitor_agent's retry.steps); 0 when not retrying */
  retrySteps?: number;
  lastError: string | undefined;
  oldestChunkAgeMs: number | undefined;
}

export interface BufferedOutput {
  emit(batch: EventBatch): Promise<void>;
  start(): Promise<void>;
  flushAll(): Promise<void>;
  stop(): Promise<void>;
  metrics(): BufferMetrics;
  readonly config: BufferConfig;
}

/** Builds the buffer of an output from its <buffer> section. Throws ConfigError on bad params. */
export async function createBufferedOutput(o: BufferedOutputOptions): Promise<BufferedOutput> {
  const el = o.bufferElement;
  const typeParam = el?.params.findLast((p) => p.key === '@type' || p.key === 'type');
  let type =
    typeParam?.value ?? (o.descriptor as { defaultBufferType?: string }).defaultBufferType ?? 'memory';
  if (!typeParam && type === 'file' && !o.ctx.stateDir && !el?.params.some((p) => p.key === 'path')) {
    // Fluentd puts out_file's default file buffer next to the output path; Sluice keeps
    // buffers under root_dir, and without one falls back to memory rather than refuse.
    o.ctx.logger.warn(
      { output: o.ctx.id },
      "no <buffer> path and no <system> root_dir: this output's buffer is kept in memory (lost on a crash)",
    );
    type = 'memory';
  }
  const backend = await loadPlugin('buffer', type, typeParam?.location ?? el?.location);
  const element: ConfigElement = el ?? {
    name: 'buffer',
    arg: '',
    params: [],
    elements: [],
    location: { file: '<default>', line: 0, column: 0 },
  };
  const resolved = resolve(
    { params: { ...COMMON_BUFFER_PARAMS, ...backend.schema.params } },
    element,
    `<buffer> of ${o.ctx.id}`,
  );
  const store = backend.create(resolved, o.ctx) as ChunkStore;
  const useDefaults = (el?.arg.trim() ?? '') === '';
  const keys = parseChunkKeys(el, o.descriptor.defaultChunkKeys);
  const config = toBufferConfig(type, resolved.params, el, keys, store.defaults, useDefaults);
  if (o.outputElement) {
    for (const p of o.outputElement.params) {
      if (p.key.startsWith('@')) continue;
      checkPlaceholders(p.key, p.value, keys, p.location);
    }
  }
  if (!o.output.write)
    throw new ConfigError(
      `output ${o.ctx.id} has no write() and cannot be buffered`,
      o.outputElement?.location,
    );
  return new Engine(o, config, store);
}

interface Live extends StoredChunk {
  timer?: NodeJS.Timeout;
}

class Engine implements BufferedOutput {
  private readonly staged = new Map<string, Live>();
  private readonly queue: Live[] = [];
  private readonly flushing = new Set<Live>();
  private stagedBytes = 0;
  private queuedBytes = 0;
  /** bytes promised to blocked emitters that were woken but have not appended yet */
  private reserved = 0;
  private readonly blocked: { need: number; wake: () => void; fail: (e: Error) => void }[] = [];
  /** a chunk failed during shutdown: stop attempting */
  private shutdownFailed = false;
  private idleWaiters: (() => void)[] = [];
  /** backups and purges in progress; stop() waits for them */
  private readonly ops = new Set<Promise<void>>();
  private retry: RetryState | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private readonly keyer: ChunkKeyer;
  private readonly now: () => number;
  private readonly m: BufferMetrics = {
    stagedBytes: 0,
    stagedChunks: 0,
    queuedBytes: 0,
    queuedChunks: 0,
    emitCount: 0,
    emitRecords: 0,
    writeCount: 0,
    writeRecords: 0,
    retryCount: 0,
    dropCount: 0,
    backupCount: 0,
    secondaryCount: 0,
    nextRetryAt: undefined,
    lastError: undefined,
    oldestChunkAgeMs: undefined,
  };

  constructor(
    private readonly o: BufferedOutputOptions,
    readonly config: BufferConfig,
    private readonly store: ChunkStore,
  ) {
    this.keyer = new ChunkKeyer(config.keys, config.timekey, config.zone);
    this.now = o.now ?? Date.now;
  }

  private get log() {
    return this.o.ctx.logger;
  }

  async start(): Promise<void> {
    const resumed = await this.store.open();
    for (const c of resumed as Live[]) {
      if (c.state === 'queued' || this.staged.has(c.keyString)) {
        this.queuedBytes += c.bytes;
        c.state = 'queued';
        this.queue.push(c);
      } else {
        this.stagedBytes += c.bytes;
        this.staged.set(c.keyString, c);
        this.armTimer(c);
      }
    }
    if (resumed.length > 0) {
      this.log.info(
        { output: this.o.ctx.id, chunks: resumed.length, events: resumed.reduce((n, c) => n + c.count, 0) },
        'resumed buffer chunks',
      );
    }
    this.state = 'running';
    // flush_mode immediate flushes on each write; a chunk resumed staged would otherwise wait
    // for the next write to its key, possibly forever (seen in test/e2e/http-seed003).
    if (this.config.flushMode === 'immediate') this.enqueueAll();
    this.dispatch();
  }

  async emit(batch: EventBatch): Promise<void> {
    if (this.state !== 'running')
      throw new Error(
        `output ${this.o.ctx.id} is ${this.state === 'new' ? 'not started' : 'stopped'}; event batch refused`,
      );
    this.m.emitCount++;
    this.m.emitRecords += batch.count;
    if (batch.count === 0) return;
    const groups = this.keyer.split(batch);
    let need = 0;
    for (const g of groups) need += g.bytes.length;
    // Space is reserved before the first await so concurrent emits cannot all see room.
    if (this.blocked.length === 0 && this.fits(need)) this.reserved += need;
    else await this.makeRoom(need);
    this.reserved -= need;
    const writes: Promise<void>[] = [];
    const touched: Live[] = [];
    for (const g of groups) this.append(g, writes, touched);
    if (writes.length > 0) {
      try {
        await Promise.all(writes);
      } catch (e) {
        throw new Error(`output ${this.o.ctx.id}: buffer could not store the batch: ${(e as Error).message}`);
      }
    }
    if (this.config.flushMode === 'immediate') {
      for (const c of touched)
        if (c.state === 'staged' && this.staged.get(c.keyString) === c) this.enqueue(c);
    }
  }

  // ---- overflow ---------------------------------------------------------------------

  private total(): number {
    return this.stagedBytes + this.queuedBytes + this.reserved;
  }

  private fits(need: number): boolean {
    // A batch larger than the whole buffer is let into an empty buffer rather than refused forever.
    return this.total() + need <= this.config.totalLimitSize || this.total() === 0;
  }

  /** The buffer is full: apply overflow_action. Returns with `need` bytes reserved. */
  private async makeRoom(need: number): Promise<void> {
    switch (this.config.overflowAction) {
      case 'throw_exception':
        throw new BufferOverflowError(
          `buffer of output ${this.o.ctx.id} is full (${this.total()} of ${this.config.totalLimitSize} bytes, total_limit_size); batch refused`,
        );
      case 'drop_oldest_chunk': {
        while (!this.fits(need)) {
          const victim = this.queue.shift() ?? this.oldestStaged();
          if (!victim)
            throw new BufferOverflowError(
              `buffer of output ${this.o.ctx.id} is full and every chunk is being written; batch refused`,
            );
          if (victim.state === 'staged') {
            this.unstage(victim);
            this.queuedBytes += victim.bytes;
          }
          this.log.warn(
            { output: this.o.ctx.id, chunk: victim.id, events: victim.count },
            'buffer full: dropped the oldest chunk (overflow_action drop_oldest_chunk)',
          );
          this.drop(victim);
        }
        this.reserved += need;
        return;
      }
      case 'block': {
        // wakeBlocked() reserves the space before waking us.
        await new Promise<void>((wake, fail) => this.blocked.push({ need, wake, fail }));
        return;
      }
    }
  }

  private wakeBlocked(): void {
    while (this.blocked.length > 0 && this.fits(this.blocked[0]!.need)) {
      const b = this.blocked.shift()!;
      this.reserved += b.need;
      b.wake();
    }
  }

  private oldestStaged(): Live | undefined {
    let best: Live | undefined;
    for (const c of this.staged.values()) if (!best || c.createdAt < best.createdAt) best = c;
    return best;
  }

  // ---- staging ----------------------------------------------------------------------

  private append(g: Group, writes: Promise<void>[], touched: Live[]): void {
    const cfg = this.config;
    let c = this.stagedFor(g);
    const limRec = cfg.chunkLimitRecords;
    if (
      c.bytes + g.bytes.length <= cfg.chunkLimitSize &&
      (limRec === undefined || c.count + g.count <= limRec)
    ) {
      this.put(c, g.bytes, g.count, writes, touched);
      return;
    }
    // Does not fit: cut the group at entry boundaries, filling chunks up to their limits.
    const starts = g.starts ?? [];
    if (!g.starts) scanEntries(g.bytes, starts);
    let from = 0;
    let n = 0;
    let size = 0;
    const flushPart = (to: number) => {
      if (n > 0) this.put(c, g.bytes.subarray(from, to), n, writes, touched);
      from = to;
      n = 0;
      size = 0;
    };
    for (let i = 0; i < starts.length; i++) {
      const s = starts[i]!;
      const e = i + 1 < starts.length ? starts[i + 1]! : g.bytes.length;
      const len = e - s;
      if (len > cfg.chunkLimitSize) {
        flushPart(s);
        from = e;
        this.m.dropCount++;
        this.log.error(
          { output: this.o.ctx.id, tag: g.keys.tag, bytes: len, chunk_limit_size: cfg.chunkLimitSize },
          'record larger than chunk_limit_size dropped',
        );
        continue;
      }
      if (c.bytes + size + len > cfg.chunkLimitSize || (limRec !== undefined && c.count + n + 1 > limRec)) {
        flushPart(s);
        if (c.count > 0 && this.staged.get(c.keyString) === c) this.enqueue(c);
        c = this.stagedFor(g);
      }
      size += len;
      n++;
    }
    flushPart(g.bytes.length);
  }

  private stagedFor(g: Group): Live {
    let c = this.staged.get(g.keyString);
    if (!c) {
      c = this.store.create(g.keys, g.keyString) as Live;
      this.staged.set(g.keyString, c);
      this.armTimer(c);
    }
    return c;
  }

  private put(c: Live, bytes: Buffer, count: number, writes: Promise<void>[], touched: Live[]): void {
    c.bytes += bytes.length;
    c.count += count;
    this.stagedBytes += bytes.length;
    const w = this.store.append(c, bytes);
    if (w) {
      writes.push(
        w.catch((e: Error) => {
          // The store cut the file back: un-count what was not stored, and stop using the chunk.
          c.bytes -= bytes.length;
          c.count -= count;
          if (c.state === 'staged') this.stagedBytes -= bytes.length;
          else this.queuedBytes -= bytes.length;
          if (this.staged.get(c.keyString) === c) this.enqueue(c);
          throw e;
        }),
      );
    }
    if (!touched.includes(c)) touched.push(c);
    const cfg = this.config;
    const full =
      c.bytes >= cfg.chunkLimitSize * cfg.chunkFullThreshold ||
      (cfg.chunkLimitRecords !== undefined && c.count >= cfg.chunkLimitRecords * cfg.chunkFullThreshold);
    if (full && this.staged.get(c.keyString) === c) this.enqueue(c);
  }

  /** When a staged chunk becomes due: flush_interval after creation, or its timekey's end + timekey_wait. */
  private armTimer(c: Live): void {
    const cfg = this.config;
    let due: number | undefined;
    if (cfg.flushMode === 'interval') due = c.createdAt + cfg.flushInterval * 1000;
    if (cfg.flushMode !== 'immediate' && cfg.keys.time && c.keys.time !== undefined && cfg.timekey) {
      const t = (c.keys.time + cfg.timekey + cfg.timekeyWait) * 1000;
      due = due === undefined ? t : Math.min(due, t);
    }
    if (due === undefined) return;
    // setTimeout holds at most ~24.8 days; a later due time re-arms on expiry.
    const delay = Math.min(Math.max(0, due - this.now()), 2 ** 31 - 1);
    c.timer = setTimeout(() => {
      c.timer = undefined;
      if (this.staged.get(c.keyString) !== c || this.state !== 'running') return;
      if (this.now() + 5 < due!) this.armTimer(c);
      else this.enqueue(c);
    }, delay);
    c.timer.unref();
  }

  private unstage(c: Live): void {
    if (c.timer) clearTimeout(c.timer);
    c.timer = undefined;
    this.staged.delete(c.keyString);
    this.stagedBytes -= c.bytes;
  }

  private enqueue(c: Live): void {
    this.unstage(c);
    c.state = 'queued';
    this.queuedBytes += c.bytes;
    this.queue.push(c);
    const p = this.store.markQueued(c);
    p?.catch((e: Error) =>
      this.log.error({ output: this.o.ctx.id, chunk: c.id, err: e }, 'could not mark buffer chunk queued'),
    );
    this.dispatch();
  }

  private enqueueAll(): void {
    for (const c of [...this.staged.values()]) if (c.count > 0) this.enqueue(c);
  }

  // ---- flushing ---------------------------------------------------------------------

  private dispatch(): void {
    if (this.state === 'new' || this.state === 'stopped') return;
    if (this.state === 'stopping') {
      if (this.config.flushAtShutdown && !this.shutdownFailed) this.dispatchForShutdown();
    } else this.dispatchRunning();
    if (this.flushing.size === 0) this.notifyIdle();
  }

  private dispatchRunning(): void {
    while (this.queue.length > 0) {
      // While retrying, one chunk at a time probes the destination; full concurrency
      // resumes after a success.
      const limit = this.retry ? 1 : this.config.flushThreadCount;
      if (this.flushing.size >= limit) return;
      if (this.retry) {
        const wait = this.retry.nextTime * 1000 - this.now();
        if (wait > 0) {
          this.armRetry(wait);
          return;
        }
      }
      const c = this.queue.shift()!;
      this.flushing.add(c);
      void this.flush(c);
    }
  }

  private armRetry(wait: number): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.dispatch();
    }, wait);
    this.retryTimer.unref();
  }

  private makeChunk(c: Live, bytes: Buffer): Chunk {
    let entries: Entry[] | undefined;
    const zone = this.config.zone;
    return {
      id: c.id,
      keys: c.keys,
      bytes,
      count: c.count,
      entries: () => (entries ??= decodeEntries(bytes)),
      expand: (template: string) => expandPlaceholders(template, c.keys, { zone }),
    };
  }

  private async attempt(target: OutputPlugin, c: Live): Promise<WriteResult> {
    let bytes: Buffer;
    try {
      bytes = await this.store.read(c);
    } catch (e) {
      return {
        status: 'fatal',
        error: new Error(`cannot read buffer chunk ${c.id}: ${(e as Error).message}`),
      };
    }
    const timeoutMs = this.config.delayedCommitTimeout * 1000;
    let timer: NodeJS.Timeout | undefined;
    try {
      const write = target.write!(this.makeChunk(c, bytes));
      const timeout = new Promise<WriteResult>((res) => {
        timer = setTimeout(
          () =>
            res({
              status: 'retry',
              error: new Error(
                `write() did not finish within delayed_commit_timeout (${this.config.delayedCommitTimeout}s)`,
              ),
            }),
          timeoutMs,
        );
        timer.unref();
      });
      return await Promise.race([write, timeout]);
    } catch (e) {
      return { status: 'retry', error: e instanceof Error ? e : new Error(String(e)) };
    } finally {
      clearTimeout(timer);
    }
  }

  private async flush(c: Live): Promise<void> {
    const toSecondary = this.o.secondary?.write !== undefined && this.retry?.secondary() === true;
    const target = toSecondary ? this.o.secondary! : this.o.output;
    let r = await this.attempt(target, c);
    if (r.status === 'fatal' && !toSecondary && this.o.secondary?.write) {
      this.log.warn(
        { output: this.o.ctx.id, chunk: c.id, err: r.error },
        'unrecoverable error in the primary output; trying <secondary>',
      );
      const r2 = await this.attempt(this.o.secondary, c);
      if (r2.status === 'ok') {
        this.m.secondaryCount++;
        r = r2;
      }
    }
    this.flushing.delete(c);
    if (r.status === 'ok') {
      if (toSecondary) this.m.secondaryCount++;
      this.m.writeCount++;
      this.m.writeRecords += c.count;
      if (this.retry) this.log.info({ output: this.o.ctx.id, retries: this.retry.steps }, 'retry succeeded');
      this.clearRetry();
      await this.purge(c);
    } else if (r.status === 'fatal') {
      this.m.lastError = r.error.message;
      this.log.error(
        { output: this.o.ctx.id, chunk: c.id, err: r.error },
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

  private onRetry(c: Live, error: Error, delayMs: number | undefined): void {
    this.m.retryCount++;
    this.m.lastError = error.message;
    // Back to the head of the queue: order is kept across retries.
    this.queue.unshift(c);
    if (this.state === 'stopping') {
      this.shutdownFailed = true;
      return;
    }
    const cfg = this.config;
    const first = this.retry === undefined;
    if (first) {
      this.retry = new RetryState(
        {
          type: cfg.retryType,
          wait: cfg.retryWait,
          timeout: cfg.retryTimeout,
          forever: cfg.retryForever,
          maxSteps: cfg.retryMaxTimes,
          backoffBase: cfg.retryBase,
          maxInterval: cfg.retryMaxInterval,
          randomize: cfg.retryRandomize,
          secondary: this.o.secondary?.write !== undefined,
          secondaryThreshold: cfg.retrySecondaryThreshold,
        },
        () => this.now() / 1000,
        this.o.random,
      );
    } else this.retry!.onFailure();
    const retry = this.retry!;
    if (delayMs !== undefined) retry.nextTime = Math.max(retry.nextTime, (this.now() + delayMs) / 1000);
    if (retry.limit()) {
      const dropped = this.queue.reduce((n, q) => n + q.count, 0);
      this.log.error(
        { output: this.o.ctx.id, retries: retry.steps, events: dropped, err: error },
        'hit the limit for retries; giving up on every queued chunk',
      );
      this.clearRetry();
      for (const q of this.queue.splice(0)) this.track(this.giveUp(q));
      return;
    }
    this.m.nextRetryAt = retry.nextTime * 1000;
    this.log.warn(
      {
        output: this.o.ctx.id,
        chunk: c.id,
        retries: retry.steps,
        next_retry: new Date(retry.nextTime * 1000).toISOString(),
        err: error.message,
      },
      'failed to flush the buffer; will retry',
    );
  }

  private clearRetry(): void {
    this.retry = undefined;
    this.m.nextRetryAt = undefined;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** Frees the chunk's space now; the files go in the background (flushAll and stop wait for it). */
  private purge(c: Live): Promise<void> {
    this.queuedBytes -= c.bytes;
    this.wakeBlocked();
    const p = this.store.purge(c).catch((e: unknown) => {
      this.log.error(
        { output: this.o.ctx.id, chunk: c.id, err: e },
        'could not delete a delivered chunk (it may be delivered again after a restart)',
      );
    });
    this.track(p);
    return p;
  }

  /** Delivery is impossible: back the chunk up (unless disabled) and forget it. */
  private async giveUp(c: Live): Promise<void> {
    this.m.dropCount += c.count;
    if (!this.config.disableChunkBackup) {
      const file = join(
        this.o.ctx.stateDir ?? defaultRootDir(),
        'backup',
        `worker${this.o.ctx.workerId}`,
        this.o.ctx.id,
        `${c.id}.log`,
      );
      try {
        await this.store.backup(c, file);
        this.m.backupCount++;
        this.log.warn(
          { output: this.o.ctx.id, chunk: c.id, events: c.count, backup: file },
          'undeliverable chunk backed up',
        );
      } catch (e) {
        this.log.error(
          { output: this.o.ctx.id, chunk: c.id, events: c.count, err: e },
          'undeliverable chunk could not be backed up; dropped',
        );
      }
    }
    await this.purge(c);
  }

  /** drop_oldest_chunk: the chunk is not written anywhere. */
  private drop(c: Live): void {
    this.m.dropCount += c.count;
    void this.purge(c);
  }

  private track(p: Promise<void>): void {
    this.ops.add(p);
    void p.finally(() => this.ops.delete(p));
  }

  private notifyIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /** Resolves when nothing is queued or writing, or when a retry wait stops progress. */
  private drained(): Promise<void> {
    if (this.queue.length === 0 && this.flushing.size === 0) return Promise.resolve();
    return new Promise((res) => {
      const check = () => {
        if ((this.queue.length === 0 && this.flushing.size === 0) || (this.retry && this.flushing.size === 0))
          res();
        else this.idleWaiters.push(check);
      };
      this.idleWaiters.push(check);
    });
  }

  async flushAll(): Promise<void> {
    if (this.state !== 'running') return;
    this.enqueueAll();
    this.dispatch();
    await this.drained();
    await Promise.all(this.ops);
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    const wasRunning = this.state === 'running';
    this.state = 'stopping';
    for (const c of this.staged.values()) if (c.timer) clearTimeout(c.timer);
    for (const b of this.blocked.splice(0))
      b.fail(
        new Error(`output ${this.o.ctx.id} stopped while the emit waited for buffer space; batch refused`),
      );
    if (wasRunning && this.config.flushAtShutdown) {
      this.enqueueAll();
      // One more attempt for everything now, whatever the retry schedule says.
      this.clearRetry();
      this.dispatchForShutdown();
      const deadline = this.o.stopTimeoutMs ?? 10_000;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.shutdownDrained(),
        new Promise<void>((r) => (timer = setTimeout(r, deadline))),
      ]);
      clearTimeout(timer);
    } else {
      // Let writes in flight finish (bounded) so their chunks are purged, not redelivered.
      let timer: NodeJS.Timeout | undefined;
      const inFlight =
        this.flushing.size > 0 ? new Promise<void>((r) => this.idleWaiters.push(r)) : Promise.resolve();
      await Promise.race([
        inFlight,
        new Promise<void>((r) => (timer = setTimeout(r, this.o.stopTimeoutMs ?? 10_000))),
      ]);
      clearTimeout(timer);
    }
    this.clearRetry();
    const left = this.queue.length + this.staged.size + this.flushing.size;
    if (left > 0) {
      const events = [...this.queue, ...this.staged.values(), ...this.flushing].reduce(
        (n, c) => n + c.count,
        0,
      );
      if (this.store.kind === 'memory')
        this.log.error(
          { output: this.o.ctx.id, chunks: left, events },
          'memory buffer stopped with undelivered events; they are lost',
        );
      else
        this.log.info(
          { output: this.o.ctx.id, chunks: left, events },
          'file buffer keeps undelivered chunks for the next start',
        );
    }
    this.state = 'stopped';
    await Promise.all(this.ops);
    await this.store.close();
  }

  private dispatchForShutdown(): void {
    while (this.queue.length > 0 && this.flushing.size < this.config.flushThreadCount) {
      const c = this.queue.shift()!;
      this.flushing.add(c);
      void this.flush(c);
    }
  }

  /** At shutdown: done when the queue is empty, or a chunk failed again (it stays queued). */
  private shutdownDrained(): Promise<void> {
    return new Promise((res) => {
      const check = () => {
        if (this.flushing.size === 0) res();
        else this.idleWaiters.push(check);
      };
      check();
    });
  }

  metrics(): BufferMetrics {
    const m = this.m;
    m.stagedBytes = this.stagedBytes;
    m.stagedChunks = this.staged.size;
    m.queuedBytes = this.queuedBytes;
    m.queuedChunks = this.queue.length + this.flushing.size;
    let oldest: number | undefined;
    for (const c of this.staged.values())
      if (oldest === undefined || c.createdAt < oldest) oldest = c.createdAt;
    for (const c of this.queue) if (oldest === undefined || c.createdAt < oldest) oldest = c.createdAt;
    for (const c of this.flushing) if (oldest === undefined || c.createdAt < oldest) oldest = c.createdAt;
    m.oldestChunkAgeMs = oldest === undefined ? undefined : this.now() - oldest;
    m.retryStartAt = this.retry ? this.retry.start * 1000 : undefined;
    m.retrySteps = this.retry?.steps ?? 0;
    return { ...m };
  }
}
