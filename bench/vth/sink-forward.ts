// Counting forward sink (a child process of the vth cases): accepts Message, Forward and
// PackedForward frames, counts events (PackedForward: the `size` option when present, else
// by walking the entries without decoding them), answers acks. Reports over IPC.
// Usage (forked): sink-forward.ts  -> sends {port}; answers 'stats' with SinkStats and
// 'timeline' with {timeline: [wall ms, events so far, ...]} (one pair per frame).
import { createServer, type Socket } from 'node:net';
import { encodeAck, Skipper, skipOne, unpackr } from '../../packages/forward/src/index.ts';

export interface SinkStats {
  events: number;
  bytes: number;
  frames: number;
  firstAt: number;
  lastAt: number;
  /** Date.now() of the last event, to compare with other processes' log times */
  lastWall: number;
  /** Date.now() when the first bytes came */
  firstWall: number;
  cpuS: number;
}

const stats: SinkStats = {
  events: 0,
  bytes: 0,
  frames: 0,
  firstAt: 0,
  lastAt: 0,
  lastWall: 0,
  firstWall: 0,
  cpuS: 0,
};
const skipper = new Skipper();

function strOrBinBody(buf: Buffer, pos: number): [number, number] | undefined {
  const b = buf[pos]!;
  if (b >= 0xa0 && b <= 0xbf) return [pos + 1, b & 0x1f];
  if (b === 0xc4 || b === 0xd9) return [pos + 2, buf[pos + 1]!];
  if (b === 0xc5 || b === 0xda) return [pos + 3, buf.readUInt16BE(pos + 1)];
  if (b === 0xc6 || b === 0xdb) return [pos + 5, buf.readUInt32BE(pos + 1)];
  return undefined;
}

function countEntries(buf: Buffer, start: number, end: number): number {
  let n = 0;
  let p = start;
  while (p < end) {
    p = skipOne(buf, p, end);
    n++;
  }
  return n;
}

/** Handles one complete frame at [pos, end). */
function frame(sock: Socket, buf: Buffer, pos: number, end: number): void {
  const head = buf[pos]!;
  const len = head & 0x0f;
  let p = pos + 1;
  p = skipOne(buf, p, end); // tag
  const second = buf[p]!;
  let events = 0;
  let optAt = -1;
  if ((second >= 0x90 && second <= 0x9f) || second === 0xdc || second === 0xdd) {
    // Forward: [tag, [[t, r], ...], opt?]
    const arrEnd = skipOne(buf, p, end);
    events =
      second <= 0x9f ? second & 0x0f : second === 0xdc ? buf.readUInt16BE(p + 1) : buf.readUInt32BE(p + 1);
    p = arrEnd;
    if (len >= 3) optAt = p;
  } else {
    const body = strOrBinBody(buf, p);
    if (body) {
      // PackedForward: [tag, entries, opt?]
      const [s, n] = body;
      p = s + n;
      let size: number | undefined;
      if (len >= 3) {
        optAt = p;
        const opt = unpackr.unpack(buf.subarray(p, end)) as {
          size?: number;
          chunk?: string;
          compressed?: string;
        };
        if (opt && !opt.compressed) size = opt.size;
      }
      events = size ?? countEntries(buf, s, s + n);
    } else {
      // Message: [tag, time, record, opt?]
      events = 1;
      p = skipOne(buf, p, end);
      p = skipOne(buf, p, end);
      if (len >= 4) optAt = p;
    }
  }
  if (optAt >= 0) {
    const opt = unpackr.unpack(buf.subarray(optAt, end)) as { chunk?: string } | null;
    if (opt?.chunk) sock.write(encodeAck(opt.chunk));
  }
  stats.events += events;
  stats.frames++;
  stats.lastAt = performance.now();
  stats.lastWall = Date.now();
  if (timeline.length < TIMELINE_MAX) timeline.push(stats.lastWall, stats.events);
}

/** [Date.now(), events so far] after each frame: for rates over a part of a run. */
const timeline: number[] = [];
const TIMELINE_MAX = 200_000;

const server = createServer((sock) => {
  let pending: Buffer[] = [];
  let pendingLen = 0;
  let need = 1;
  sock.on('data', (d: Buffer) => {
    if (stats.firstAt === 0) {
      stats.firstAt = performance.now();
      stats.firstWall = Date.now();
    }
    stats.bytes += d.length;
    pending.push(d);
    pendingLen += d.length;
    if (pendingLen < need) return;
    let buf = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingLen);
    let pos = 0;
    for (;;) {
      skipper.reset(pos, 1);
      if (!skipper.run(buf, buf.length, Number.MAX_SAFE_INTEGER)) {
        need = skipper.need - pos;
        break;
      }
      frame(sock, buf, pos, skipper.pos);
      pos = skipper.pos;
      need = 1;
      if (pos === buf.length) break;
    }
    buf = pos === buf.length ? Buffer.alloc(0) : buf.subarray(pos);
    pending = buf.length ? [buf] : [];
    pendingLen = buf.length;
  });
  sock.on('error', () => undefined);
});

server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.send?.({ port: (server.address() as { port: number }).port });
});
process.on('message', (m) => {
  if (m === 'stats') {
    const c = process.cpuUsage();
    stats.cpuS = (c.user + c.system) / 1e6;
    process.send?.({ stats });
  } else if (m === 'timeline') {
    process.send?.({ timeline });
  }
});
process.on('disconnect', () => process.exit(0));
