// Shared by the tcp, udp and syslog input tests: a plugin started from a config snippet on
// 127.0.0.1 with port 0, its log lines captured, and waits that resolve on emits and log
// lines (never on sleeps).
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import pino from 'pino';
import type { EventBatch, EventRecord } from '../../../src/core/batch.ts';
import type { PluginDescriptor } from '../../../src/core/plugin.ts';
import { loadPlugin } from '../../../src/engine/registry.ts';
import { instantiate, type TestContext, testContext } from '../../../src/testing/context.ts';
import { requireTool } from '../../helpers/tools.ts';

export interface LogLine {
  level: number;
  code?: string;
  msg: string;
  [k: string]: unknown;
}

export interface Started<I> {
  input: I;
  ctx: TestContext;
  lines: LogLine[];
  /** every emitted event with its tag */
  events(): { tag: string; time: { sec: number; nsec: number }; record: EventRecord }[];
  /** resolves once `done()` holds, checked after every emit and log line */
  until(done: () => boolean, what: string, ms?: number): Promise<void>;
  untilEvents(n: number, ms?: number): Promise<void>;
  untilLog(code: string, ms?: number): Promise<LogLine>;
}

/**
 * Holds the input's emits as outputs that have not accepted yet would: pass `onEmit` to
 * startInput; `blocked` settles when the first emit is held; `release()` lets it and every
 * later emit through (and may be called again).
 */
export function holdEmits(): {
  onEmit: () => Promise<void>;
  blocked: Promise<void>;
  release(): Promise<void>;
} {
  let open!: () => void;
  let gate: Promise<void> | undefined = new Promise((r) => {
    open = r;
  });
  let entered!: () => void;
  const blocked = new Promise<void>((r) => {
    entered = r;
  });
  return {
    onEmit: async () => {
      if (!gate) return;
      entered();
      await gate;
    },
    blocked,
    release: async () => {
      const g = gate;
      gate = undefined;
      open();
      await g;
    },
  };
}

export async function startInput<I extends { start(): Promise<void> }>(
  descriptor: PluginDescriptor<I>,
  body: string,
  opts: { onEmit?: (b: EventBatch) => Promise<void> | void } = {},
): Promise<Started<I>> {
  // Nested parsers are built synchronously from loaded descriptors, as the engine preloads them.
  for (const m of body.matchAll(/<parse>\s*@type (\w+)/g)) await loadPlugin('parser', m[1]!);
  await loadPlugin('parser', 'syslog');
  const checks = new Set<() => void>();
  const poke = () => {
    for (const c of [...checks]) c();
  };
  const ctx = testContext({
    type: descriptor.type,
    onEmit: async (b) => {
      await opts.onEmit?.(b);
      setImmediate(poke);
    },
  });
  const lines: LogLine[] = [];
  ctx.logger = pino(
    { level: 'debug' },
    {
      write: (s: string) => {
        lines.push(JSON.parse(s) as LogLine);
        if (process.env.SLUICE_TEST_LOG) process.stderr.write(s);
        setImmediate(poke);
      },
    },
  );
  const { plugin } = instantiate(
    descriptor,
    `<source>\n@type ${descriptor.type}\nbind 127.0.0.1\nport 0\n${body}\n</source>\n`,
    ctx,
  );
  await plugin.start();
  // Reads that emit nothing still change what the input holds.
  (plugin as { budget?: { onChange(fn: () => void): unknown } }).budget?.onChange(() => setImmediate(poke));
  const events = () =>
    ctx.emitted.flatMap((b) => b.entries().map((e) => ({ tag: b.tag, time: e.time, record: e.record })));
  const until = (done: () => boolean, what: string, ms = 15_000) => {
    if (done()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        checks.delete(check);
        reject(new Error(`timed out waiting for ${what}`));
      }, ms);
      const check = () => {
        if (!done()) return;
        clearTimeout(t);
        checks.delete(check);
        resolve();
      };
      checks.add(check);
    });
  };
  return {
    input: plugin,
    ctx,
    lines,
    events,
    until,
    untilEvents: (n, ms) => until(() => events().length >= n, `${n} events (have ${events().length})`, ms),
    async untilLog(code, ms) {
      await until(() => lines.some((l) => l.code === code), `a log line with code ${code}`, ms);
      return lines.find((l) => l.code === code)!;
    },
  };
}

/** Connects to 127.0.0.1:port; resolves once connected. */
export function tcpClient(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      s.off('error', reject);
      s.on('error', () => undefined);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Resolves once the socket is closed (by either side). */
export function closed(s: Socket): Promise<void> {
  if (s.destroyed) return Promise.resolve();
  return new Promise((r) => s.once('close', () => r()));
}

/** Sends each datagram to 127.0.0.1:port, in order, and closes the socket. */
export async function sendUdp(port: number, messages: (string | Buffer)[]): Promise<void> {
  const s = createSocket('udp4');
  for (const m of messages)
    await new Promise<void>((resolve, reject) =>
      s.send(m, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
    );
  await new Promise<void>((r) => s.close(() => r()));
}

/** Runs util-linux's logger with these arguments (a real syslog client). */
export function logger(args: string[]): Promise<void> {
  requireTool('logger', 'bsdutils', ['--version']);
  return new Promise((resolve, reject) =>
    execFile('logger', args, (e, _out, err) =>
      e ? reject(new Error(`logger ${args.join(' ')}: ${err}`)) : resolve(),
    ),
  );
}
