// Forward load generator (a child process of the vth cases): PackedForward frames of
// `batch` events (~160-byte records), each asking for an ack, `window` frames in flight per
// connection, until `total` events are acked. Frames are encoded once; only the chunk id
// changes. Reports over IPC: {done, events, bytes, seconds, cpuS}.
// Usage (forked): gen-forward.ts PORT TOTAL [BATCH=1000] [CONNECTIONS=1] [WINDOW=8]
import { connect, type Socket } from 'node:net';
import {
  EventTime,
  encodeAck,
  FrameDecoder,
  packedForwardParts,
  packr,
} from '../../packages/forward/src/index.ts';

const [port, total, batch = 1000, connections = 1, windowSize = 8] = process.argv.slice(2).map(Number) as [
  number,
  number,
  number?,
  number?,
  number?,
];

function entries(): Buffer {
  const parts: Buffer[] = [];
  const t = EventTime.now();
  for (let i = 0; i < batch; i++) {
    parts.push(
      packr.pack([
        t,
        {
          message: `203.0.113.${i % 250} - - [21/Nov/2026:23:00:00 +0000] "GET /api/v1/items/${String(i).padStart(7, '0')} HTTP/1.1" 200 ${1000 + i} "-" "vth/1.0"`,
          host: 'web01',
        },
      ]),
    );
  }
  return Buffer.concat(parts);
}

const body = entries();
const frames = Math.ceil(total / batch);
let sent = 0;
let acked = 0;
let bytes = 0;
let t0 = 0;
let chunkSeq = 0;

function chunkId(): string {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(process.pid, 0);
  b.writeUInt32BE(chunkSeq++, 12);
  return b.toString('base64');
}

function sendOne(sock: Socket): boolean {
  if (sent >= frames) return false;
  sent++;
  const parts = packedForwardParts('vth.tcp', body, { size: batch, chunk: chunkId() });
  for (const p of parts) bytes += p.length;
  sock.cork();
  for (const p of parts) sock.write(p);
  sock.uncork();
  return true;
}

function done(): void {
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage();
  process.send?.({ done: true, events: acked * batch, bytes, seconds, cpuS: (c.user + c.system) / 1e6 });
}

function open(): void {
  const sock = connect(port, '127.0.0.1');
  sock.setNoDelay(true);
  const dec = new FrameDecoder({ maxFrameSize: 1 << 16, expect: 'any' });
  sock.on('connect', () => {
    if (t0 === 0) t0 = performance.now();
    for (let i = 0; i < windowSize; i++) sendOne(sock);
  });
  sock.on('data', (d: Buffer) => {
    dec.push(d);
    while (dec.next() !== undefined) {
      acked++;
      if (acked === frames) {
        done();
        return;
      }
      sendOne(sock);
    }
  });
  sock.on('error', (e) => {
    process.stderr.write(`gen-forward: ${e.message}\n`);
    process.exit(1);
  });
}

process.on('message', (m) => {
  if (m === 'start') for (let i = 0; i < connections; i++) open();
  if (m === 'stats') {
    const c = process.cpuUsage();
    process.send?.({ acked: acked * batch, bytes, cpuS: (c.user + c.system) / 1e6 });
  }
});
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true, encodedAck: encodeAck('x').length });
