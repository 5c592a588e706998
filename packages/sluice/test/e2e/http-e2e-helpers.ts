import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { decodeMultiple, EventTime, encode } from '@sluice/forward';

/** A port that was free a moment ago on 127.0.0.1 (for child processes that need a fixed one). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Resolves once something accepts TCP connections on the port (bounded). */
export async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} did not open within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A forward-protocol client that sends one Forward-mode message per call with a `chunk`
 * option and resolves when the matching `ack` arrives: the event is then accepted.
 */
export class AckingForwardClient {
  private sock!: net.Socket;
  private pending = new Map<string, () => void>();
  private buf = Buffer.alloc(0);

  async connect(port: number): Promise<void> {
    this.sock = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      this.sock.once('connect', resolve);
      this.sock.once('error', reject);
    });
    this.sock.on('error', () => undefined);
    this.sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      let values: unknown[];
      try {
        values = decodeMultiple(this.buf);
      } catch {
        return; // incomplete answer; wait for more bytes
      }
      this.buf = Buffer.alloc(0);
      for (const v of values) {
        const id = (v as { ack?: string }).ack;
        if (id) {
          this.pending.get(id)?.();
          this.pending.delete(id);
        }
      }
    });
  }

  send(tag: string, record: Record<string, unknown>, timeoutMs = 10_000): Promise<void> {
    const chunk = randomBytes(16).toString('base64');
    const msg = encode([tag, [[EventTime.now(), record]], { chunk }]);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ack for ${JSON.stringify(record)}`)), timeoutMs);
      this.pending.set(chunk, () => {
        clearTimeout(t);
        resolve();
      });
      this.sock.write(msg);
    });
  }

  close(): void {
    this.sock.destroy();
  }
}
