// A minimal forward-protocol client for e2e tests: sends PackedForward messages with a
// `chunk` option and resolves each send when its ack arrives (at-least-once producer).
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { decode, EventTime, encode } from '@sluice/forward';
import { INCOMPLETE, skipValue } from '../../src/codec/msgpack-scan.ts';
import { BatchBuilder } from '../../src/core/batch-builder.ts';

export class AckingClient {
  private sock: Socket | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private pending = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();

  constructor(private readonly port: number) {}

  /** Connects, retrying while the server is not listening yet (bounded). */
  async connect(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        this.sock = await new Promise<Socket>((resolve, reject) => {
          const s = connect(this.port, '127.0.0.1', () => resolve(s));
          s.once('error', reject);
        });
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    const s = this.sock;
    this.buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => this.onData(d));
    const fail = (e: Error) => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    s.on('error', fail);
    s.on('close', () => fail(new Error('connection closed')));
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    let off = 0;
    for (;;) {
      const end = skipValue(this.buf, off);
      if (end === INCOMPLETE || end < 0) break;
      const msg = decode(this.buf.subarray(off, end)) as { ack?: string };
      off = end;
      const p = msg.ack ? this.pending.get(msg.ack) : undefined;
      if (p) {
        this.pending.delete(msg.ack!);
        p.resolve();
      }
    }
    this.buf = this.buf.subarray(off);
  }

  /** Sends records under one tag; resolves once acked (rejects after timeoutMs, if given, without an ack). */
  send(tag: string, records: Record<string, unknown>[], timeoutMs?: number): Promise<void> {
    const s = this.sock;
    if (!s || s.destroyed) return Promise.reject(new Error('not connected'));
    const b = new BatchBuilder();
    const t = EventTime.now();
    for (const r of records) b.add(t, r);
    const chunk = randomBytes(16).toString('base64');
    const msg = encode([tag, b.finish(), { chunk, size: records.length }]);
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.pending.delete(chunk);
              reject(new Error(`no ack within ${timeoutMs} ms for ${JSON.stringify(records)}`));
            }, timeoutMs);
      const settle = (f: () => void) => () => {
        clearTimeout(timer);
        f();
      };
      this.pending.set(chunk, { resolve: settle(resolve), reject: (e) => settle(() => reject(e))() });
      s.write(msg);
    });
  }

  close(): void {
    this.sock?.destroy();
  }
}
