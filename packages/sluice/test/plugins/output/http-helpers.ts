import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { EventTime } from '@sluice/forward';
import type { EventRecord } from '../../../src/core/batch.ts';
import type { Chunk } from '../../../src/core/plugin.ts';
import { chunkOf as testChunk } from '../../helpers/chunk.ts';

export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** the body, gunzipped when Content-Encoding is gzip */
  text: string;
}

/** A real HTTP sink on 127.0.0.1:0 that records every request and answers with `status()`. */
export class Sink {
  readonly requests: Received[] = [];
  status: (r: Received) => number = () => 200;
  connections = 0;
  private server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8');
      const r: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, text };
      const code = this.status(r);
      if (code >= 200 && code < 300) this.requests.push(r);
      res.writeHead(code, { 'Content-Type': 'text/plain' });
      res.end(code >= 300 ? `status ${code}` : 'ok');
      this.waiters = this.waiters.filter((w) => !w());
    });
  });
  private waiters: (() => boolean)[] = [];

  constructor() {
    this.server.on('connection', () => this.connections++);
  }

  async listen(port = 0): Promise<number> {
    await new Promise<void>((r) => this.server.listen(port, '127.0.0.1', r));
    return (this.server.address() as AddressInfo).port;
  }

  /** Resolves once `n` requests were accepted (bounded by `ms`). */
  waitFor(n: number, ms = 10_000): Promise<void> {
    return this.waitUntil(
      () => this.requests.length >= n,
      ms,
      () => `sink got ${this.requests.length} of ${n} requests`,
    );
  }

  /** Resolves once `done()` holds after a request (bounded by `ms`; the message says what is missing). */
  waitUntil(done: () => boolean, ms: number, describe: () => string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(describe())), ms);
      this.waiters.push(() => {
        if (!done()) return false;
        clearTimeout(t);
        resolve();
        return true;
      });
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** A chunk as the buffer engine hands one to write(), keyed by tag. */
export function chunkOf(
  tag: string,
  records: EventRecord[],
  time = new EventTime(1700000000, 0),
  vars: Record<string, string> = {},
): Chunk {
  return testChunk(tag, records, { time, vars, id: `c${Math.random().toString(16).slice(2)}` });
}
