// bench/forward: events/s and MB/s through Sluice's forward input and a forward relay.
//   node --import tsx bench/forward/forward.ts [events=200000]
// Cases: a client sending Message frames vs PackedForward frames into `forward -> null`,
// and `forward -> forward (require_ack_response) -> forward -> count` with acks at both
// hops. The client pre-encodes its frames so the figures measure the receiving side; it
// runs in the same process (one core is shared by client and server), which understates
// what a dedicated receiver does. Never pass/fail.
import { connect, type Socket } from 'node:net';
import {
  EventTime,
  encode,
  encodeMessage,
  encodePackedForward,
  FrameDecoder,
  parseAck,
  unpackr,
} from '@sluice/forward';
import pino from 'pino';
import type { OutputPlugin, PluginDescriptor } from '../../packages/sluice/src/core/plugin.ts';
import { Engine } from '../../packages/sluice/src/engine/engine.ts';
import { registerPlugin } from '../../packages/sluice/src/engine/registry.ts';
import { freePort } from '../../packages/sluice/test/helpers/ports.ts';

const N = Number(process.argv[2] ?? 200_000);
const logger = pino({ level: 'silent' });
const record = {
  message: 'GET /api/v1/items?id=12345 HTTP/1.1 200 512 "-" "curl/8.0"',
  level: 'info',
  host: 'web-01',
  pid: 4242,
  latency_ms: 12.5,
};

let counted = 0;
let countWaiter: { n: number; resolve: () => void } | undefined;
const countOutput: PluginDescriptor<OutputPlugin> = {
  kind: 'output',
  type: 'bench_count',
  description: 'bench: counts events',
  schema: { params: {} },
  buffered: 'never',
  create: () => ({
    process(b) {
      counted += b.count;
      if (countWaiter && counted >= countWaiter.n) countWaiter.resolve();
    },
  }),
};
registerPlugin(countOutput);

/** Sends frames (the last one asks for an ack) and resolves when that ack arrives. */
async function blast(port: number, frames: Buffer[]): Promise<void> {
  const sock: Socket = connect(port, '127.0.0.1');
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const dec = new FrameDecoder({ maxFrameSize: 1 << 20, expect: 'any' });
  const acked = new Promise<void>((resolve) => {
    sock.on('data', (d) => {
      dec.push(d);
      for (let f = dec.next(); f; f = dec.next()) if (parseAck(unpackr.unpack(f)) === 'last') resolve();
    });
  });
  for (const f of frames) {
    if (!sock.write(f)) await new Promise((r) => sock.once('drain', r));
  }
  await acked;
  sock.destroy();
}

function messageFrames(n: number): Buffer[] {
  const t = EventTime.now();
  const frames: Buffer[] = [];
  for (let i = 0; i < n; i++)
    frames.push(encodeMessage('bench.msg', t, record, i === n - 1 ? { chunk: 'last' } : undefined));
  return frames;
}

function packedFrames(n: number, per: number, ack: boolean): Buffer[] {
  const t = EventTime.now();
  const entry = encode([t, record]);
  const frames: Buffer[] = [];
  for (let done = 0; done < n; done += per) {
    const k = Math.min(per, n - done);
    const entries = Buffer.concat(Array.from({ length: k }, () => entry));
    const last = done + k >= n;
    frames.push(
      encodePackedForward(
        'bench.packed',
        entries,
        ack || last ? { size: k, chunk: last ? 'last' : `c${done}` } : { size: k },
      ),
    );
  }
  return frames;
}

function report(name: string, events: number, bytes: number, ms: number, cpu0: NodeJS.CpuUsage): void {
  const cpu = process.cpuUsage(cpu0);
  const evs = (events / ms) * 1000;
  const mbs = (bytes / 1024 / 1024 / ms) * 1000;
  const cpuPct = ((cpu.user + cpu.system) / 1000 / ms) * 100;
  console.log(
    `${name.padEnd(48)} ${Math.round(evs).toLocaleString('en-US').padStart(10)} ev/s ${mbs.toFixed(1).padStart(7)} MB/s  CPU ${cpuPct.toFixed(0)}%`,
  );
}

async function run(
  name: string,
  port: number,
  frames: Buffer[],
  events: number,
  done: () => Promise<void>,
): Promise<void> {
  const bytes = frames.reduce((s, f) => s + f.length, 0);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await blast(port, frames);
  await done();
  report(name, events, bytes, performance.now() - t0, cpu0);
}

const direct = await freePort();
const sink = await Engine.fromText(
  `<source>\n@type forward\nbind 127.0.0.1\nport ${direct}\n</source>\n<match **>\n@type null\n</match>\n`,
  { logger },
);
await sink.start();
console.log(
  `events per case: ${N.toLocaleString('en-US')}, record ${encode(record).length} bytes of msgpack`,
);
await run('client Message -> forward -> null', direct, messageFrames(N), N, async () => undefined);
await run(
  'client PackedForward(1000) -> forward -> null',
  direct,
  packedFrames(N, 1000, false),
  N,
  async () => undefined,
);
await sink.stop();

const aggPort = await freePort();
const relayPort = await freePort();
const agg = await Engine.fromText(
  `<source>\n@type forward\nbind 127.0.0.1\nport ${aggPort}\n</source>\n<match **>\n@type bench_count\n</match>\n`,
  { logger },
);
await agg.start();
const relay = await Engine.fromText(
  `<source>\n@type forward\nbind 127.0.0.1\nport ${relayPort}\n</source>
<match **>
  @type forward
  require_ack_response true
  keepalive true
  heartbeat_type none
  <server>\n    host 127.0.0.1\n    port ${aggPort}\n  </server>
  <buffer>\n    flush_mode immediate\n    flush_thread_count 4\n    chunk_limit_size 1m\n  </buffer>
</match>\n`,
  { logger },
);
await relay.start();
await run('relay PackedForward(1000), acks both hops', relayPort, packedFrames(N, 1000, true), N, () => {
  if (counted >= N) return Promise.resolve();
  return new Promise<void>((resolve) => {
    countWaiter = { n: N, resolve };
  });
});
await relay.stop();
await agg.stop();
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
