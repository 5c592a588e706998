import { reverse } from 'node:dns/promises';
import type { Socket } from 'node:net';
import {
  checkEntries,
  decompressEntries,
  type EntryCheck,
  encodeAck,
  ForwardProtocolError,
  FrameDecoder,
  parseEventFrame,
  readPing,
} from '@sluice/forward';
import { EventBatch } from '../../../core/batch.ts';
import { BatchBuilder } from '../../../core/batch-builder.ts';
import { BufferPool } from '../../../core/buffer-pool.ts';
import type { ErrorCode } from '../../../core/errors.ts';
import type { BudgetHolder, MemoryBudget } from '../../../core/memory-budget.ts';
import type { PluginContext } from '../../../core/plugin.ts';
import type { Security, Session } from './security.ts';

export interface ConnectionOptions {
  ctx: PluginContext;
  /** frames larger than this close the connection (chunk_size_limit, else max_frame_size) */
  maxFrameSize: number;
  warnSize: number | undefined;
  skipInvalid: boolean;
  tagPrefix: string | undefined;
  sourceAddressKey: string | undefined;
  sourceHostnameKey: string | undefined;
  resolveHostname: boolean;
  denyKeepalive: boolean;
  security: Security | undefined;
  /** bounds the bytes of unfinished frames across the input's connections */
  budget: MemoryBudget;
  /** ms a connection may hold an unfinished frame without sending a byte of it; 0 = no limit */
  partialFrameTimeoutMs: number;
}

/**
 * Buffers the connections' decoders assemble frames in when a frame spans reads, reused
 * once the frame's events were accepted instead of allocated per frame (issue 26).
 */
const framePool = new BufferPool(4);

/** A refused reservation: holding the frame would pass the input's memory bound. */
class MemoryLimitError extends Error {}

/** What one group of frames read together turns into: a batch per tag, acks to send after. */
interface Pending {
  builders: Map<string, { single?: EventBatch; builder?: BatchBuilder }>;
  acks: string[];
  /** the frames read, given back to the decoder once their events were accepted */
  frames: Buffer[];
}

/**
 * One client connection: splits the stream into frames, authenticates when <security> is
 * set, groups the frames of one read into a batch per tag, emits them, and acks only once
 * every emit resolved. While an emit waits the socket is paused, so TCP pushes back on
 * the sender instead of this process buffering. A protocol violation closes this
 * connection with a logged reason; other connections are unaffected.
 */
export class Connection implements BudgetHolder {
  private readonly decoder: FrameDecoder;
  /** a timeout is armed on the socket while an unfinished frame is held */
  private timing = false;
  private session: Session | undefined;
  private busy = false;
  private closed = false;
  private hostname: string | undefined;
  private readonly remote: string;
  private readonly check: EntryCheck;
  /** settles when the current processing round ends (for stop) */
  idle: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: Socket,
    private readonly o: ConnectionOptions,
  ) {
    this.decoder = new FrameDecoder({
      maxFrameSize: o.maxFrameSize,
      pool: framePool,
      reserve: (bytes) => {
        if (!o.budget.claim(this, bytes)) throw new MemoryLimitError(String(bytes));
      },
    });
    this.remote = socket.remoteAddress ?? 'unix';
    this.check = {
      skipInvalid: o.skipInvalid,
      onInvalid: (i, reason) =>
        o.ctx.logger.warn(
          { code: 'BAD_ENTRY', remote: this.remote, entry: i },
          `skipped invalid event: entry ${reason}`,
        ),
      now: nowTime,
    };
    if (o.security) {
      this.session = o.security.session(!o.denyKeepalive);
      socket.write(this.session.heloBytes());
    }
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (e) =>
      o.ctx.logger.debug({ remote: this.remote, err: e.message }, 'forward connection error'),
    );
    socket.on('close', () => {
      this.closed = true;
      this.release();
    });
    if (o.partialFrameTimeoutMs > 0) socket.on('timeout', () => this.onTimeout());
  }

  private onData(data: Buffer): void {
    if (this.closed) return;
    try {
      this.decoder.push(data);
    } catch (e) {
      if (!(e instanceof MemoryLimitError)) throw e;
      this.refuseForMemory(Number(e.message));
      return;
    }
    if (!this.account()) return;
    if (!this.busy) this.idle = this.drain();
  }

  /**
   * Counts what the decoder holds for an unfinished frame against the input's bound (after
   * a read it kept without copying, or after frames were taken out of it), and arms the
   * no-progress timeout while it holds one. Returns false when the connection was closed.
   */
  private account(): boolean {
    const held = this.decoder.held;
    if (!this.o.budget.claim(this, held)) {
      this.refuseForMemory(held);
      return false;
    }
    const timing = held > 0 && this.o.partialFrameTimeoutMs > 0;
    if (timing !== this.timing) {
      this.timing = timing;
      this.socket.setTimeout(timing ? this.o.partialFrameTimeoutMs : 0);
    }
    return true;
  }

  private refuseForMemory(bytes: number): void {
    this.fail(
      `an unfinished frame needs ${bytes} bytes, past the input's bound of ${this.o.budget.limit} bytes for unfinished frames (total_partial_size_limit); not acknowledged`,
      'INPUT_MEMORY_LIMIT',
    );
  }

  private onTimeout(): void {
    if (this.closed || this.decoder.held === 0) return;
    if (this.busy) {
      // Reading is paused while an emit waits: the client is not the one stalling.
      this.socket.setTimeout(this.o.partialFrameTimeoutMs);
      return;
    }
    this.fail(
      `an unfinished frame got no byte for ${this.o.partialFrameTimeoutMs / 1000} s (partial_frame_timeout); dropped`,
      'FRAME_TIMEOUT',
    );
  }

  /** BudgetHolder: the input needs the memory this connection holds for a bigger claim. */
  evict(reason: string): boolean {
    if (this.closed) return true;
    this.fail(`closed to free memory: ${reason} (total_partial_size_limit)`, 'INPUT_MEMORY_LIMIT');
    return true;
  }

  /** Lets go of the unfinished frame's memory. */
  private release(): void {
    this.decoder.reset();
    this.o.budget.release(this);
  }

  /** For monitoring and tests: is reading paused (an emit waits), how many bytes are held. */
  stats(): { remote: string; paused: boolean; buffered: number; held: number } {
    return {
      remote: this.remote,
      paused: this.socket.isPaused(),
      buffered: this.decoder.buffered,
      held: this.decoder.held,
    };
  }

  /** Stops reading and drops the connection; unacked frames will be resent by the client. */
  close(): void {
    this.closed = true;
    this.socket.destroy();
    this.release();
  }

  private fail(reason: string, code?: ErrorCode): void {
    this.o.ctx.logger.warn({ remote: this.remote, code }, `closing forward connection: ${reason}`);
    this.o.ctx.metrics.protocolErrors = ((this.o.ctx.metrics.protocolErrors as number | undefined) ?? 0) + 1;
    this.close();
  }

  private async drain(): Promise<void> {
    this.busy = true;
    try {
      while (!this.closed) {
        const pending: Pending = { builders: new Map(), acks: [], frames: [] };
        let frames = 0;
        let eventFrames = 0;
        let waits: Promise<void>[] | undefined;
        for (let frame = this.decoder.next(); frame !== undefined; frame = this.decoder.next()) {
          frames++;
          if (this.session) {
            if (!this.handshake(frame)) return;
            this.decoder.recycle(frame);
            continue;
          }
          eventFrames++;
          pending.frames.push(frame);
          const w = this.addFrame(frame, pending);
          if (w) {
            waits ??= [];
            waits.push(w);
          }
        }
        if (!this.account()) return;
        if (frames === 0) break;
        if (waits || pending.builders.size > 0) {
          this.socket.pause();
          if (waits) await Promise.all(waits);
          try {
            await this.emitAll(pending);
          } catch (e) {
            // Not acked: the client resends (the buffer refused, e.g. overflow_action throw_exception).
            this.fail(`events not accepted (${(e as Error).message}); not acknowledged`, 'EMIT_FAILED');
            return;
          }
          if (this.closed) return;
          this.socket.resume();
        }
        // Accepted (or nothing to emit): outputs have copied what they keep, so the frames'
        // memory may be reused.
        for (const f of pending.frames) this.decoder.recycle(f);
        if (pending.acks.length > 0) {
          // One write for the acks of a read, not one each.
          this.socket.cork();
          for (const a of pending.acks) this.socket.write(encodeAck(a));
          this.socket.uncork();
        }
        // The handshake does not count: deny_keepalive closes after the first event message.
        if (this.o.denyKeepalive && eventFrames > 0) {
          this.socket.end();
          this.closed = true;
          return;
        }
      }
    } catch (e) {
      if (e instanceof ForwardProtocolError) this.fail(e.message, e.code);
      else this.fail(`invalid frame: ${(e as Error).message}`, 'BAD_FRAME');
    } finally {
      this.busy = false;
    }
  }

  private handshake(frame: Buffer): boolean {
    const ping = readPing(frame);
    const r = this.session!.answer(ping, this.remote);
    if (!r.ok) {
      this.o.ctx.logger.warn(
        { remote: this.remote, hostname: ping.hostname, code: 'HANDSHAKE_REFUSED' },
        `forward handshake refused: ${r.reason}`,
      );
      this.socket.end(r.pong);
      this.closed = true;
      return false;
    }
    this.socket.write(r.pong);
    this.session = undefined;
    return true;
  }

  /** Adds a frame's entries to the group; returns a promise when it must decompress first. */
  private addFrame(frame: Buffer, p: Pending): Promise<void> | undefined {
    if (this.o.warnSize !== undefined && frame.length > this.o.warnSize) {
      this.o.ctx.logger.warn(
        { code: 'FORWARD_CHUNK_SIZE_WARN', remote: this.remote, size: frame.length, limit: this.o.warnSize },
        "Input chunk size is larger than 'chunk_size_warn_limit'",
      );
    }
    const f = parseEventFrame(frame, this.check);
    const tag = this.o.tagPrefix ? `${this.o.tagPrefix}.${f.tag}` : f.tag;
    const signal = f.option?.fluent_signal;
    if (signal !== undefined && signal !== 0) {
      this.o.ctx.logger.warn(
        { code: 'FORWARD_SIGNAL_DROPPED', remote: this.remote, fluent_signal: signal },
        'dropped a metrics/traces frame: only logs (fluent_signal 0) are supported',
      );
      if (f.option?.chunk) p.acks.push(f.option.chunk);
      return undefined;
    }
    if (f.mode === 'compressed') {
      // Reserve this frame's place in the ack order now; entries join the group once inflated.
      const ack = f.option?.chunk;
      if (ack) p.acks.push(ack);
      const compressed = Buffer.from(f.entries);
      return decompressEntries(f.option!.compressed!, compressed, this.o.maxFrameSize).then((plain) => {
        const c = checkEntries(plain, this.check);
        this.add(p, tag, c.bytes, c.count);
      });
    }
    this.add(p, tag, f.entries, f.count);
    if (f.option?.chunk) p.acks.push(f.option.chunk);
    return undefined;
  }

  private add(p: Pending, tag: string, bytes: Buffer, count: number): void {
    if (count === 0) return;
    const slot = p.builders.get(tag);
    if (!slot) {
      // One frame per tag is the common case (PackedForward): its bytes are the batch, not
      // copied. The decoder never writes over a frame it returned (it appends past its end
      // or moves to new memory), and the socket stays paused until the emit has resolved,
      // by when outputs have copied what they keep (the emit contract).
      p.builders.set(tag, { single: new EventBatch(tag, bytes, count) });
      return;
    }
    if (!slot.builder) {
      slot.builder = new BatchBuilder(Math.max(4096, slot.single!.bytes.length * 4));
      slot.builder.addEntryBytes(slot.single!.bytes, slot.single!.count);
      slot.single = undefined;
    }
    slot.builder.addEntryBytes(bytes, count);
  }

  private async emitAll(p: Pending): Promise<void> {
    const batches: EventBatch[] = [];
    for (const [tag, slot] of p.builders) batches.push(slot.single ?? slot.builder!.take(tag));
    const injected =
      this.o.sourceAddressKey || this.o.sourceHostnameKey ? await this.inject(batches) : batches;
    await Promise.all(injected.map((b) => this.o.ctx.emit(b)));
  }

  /** source_address_key / source_hostname_key: the only path here that decodes records. */
  private async inject(batches: EventBatch[]): Promise<EventBatch[]> {
    const addr = this.remote.startsWith('::ffff:') ? this.remote.slice(7) : this.remote;
    if (this.o.sourceHostnameKey && this.hostname === undefined) {
      this.hostname = addr;
      if (this.o.resolveHostname) {
        try {
          this.hostname = (await reverse(addr))[0] ?? addr;
        } catch {
          // Fluentd falls back to the address when the name does not resolve.
        }
      }
    }
    return batches.map((b) =>
      EventBatch.fromEntries(
        b.tag,
        b.entries().map((e) => {
          const record = { ...e.record };
          if (this.o.sourceAddressKey) record[this.o.sourceAddressKey] = addr;
          if (this.o.sourceHostnameKey) record[this.o.sourceHostnameKey] = this.hostname;
          return { time: e.time, record };
        }),
      ),
    );
  }
}

function nowTime(): { sec: number; nsec: number } {
  const ms = Date.now();
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6 };
}
