import { connect, createServer, type Server, type Socket } from 'node:net';
import pino from 'pino';
import { Engine } from '../../src/engine/engine.ts';
import { captured } from '../helpers/capture.ts';
import { waitUntil } from '../helpers/wait.ts';

export { freePort } from '../helpers/ports.ts';

export const logger = pino({ level: process.env.SLUICE_TEST_LOG ?? 'silent' });

/** A forward input on 127.0.0.1:port whose events land in `captured.get(name)`. */
export async function receiver(port: number, name: string): Promise<Engine> {
  const e = await Engine.fromText(
    `<source>\n@type forward\nbind 127.0.0.1\nport ${port}\n</source>\n<match **>\n@type test_capture\nname ${name}\n</match>\n`,
    { logger },
  );
  await e.start();
  return e;
}

export interface Rec {
  tag: string;
  record: Record<string, unknown>;
}

export function received(name: string): Rec[] {
  return (captured.get(name) ?? []).flatMap((b) =>
    b.entries().map((e) => ({ tag: b.tag, record: e.record })),
  );
}

/** Waits (bounded) until `cond` holds; the agent tests allow 30 s on a busy machine. */
export function until(cond: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<true> {
  return waitUntil(cond, what, ms);
}

/**
 * A TCP proxy in front of a server that counts the connections that carried data
 * (heartbeat probes connect and close without sending anything).
 */
export async function countingProxy(
  upstreamPort: number,
): Promise<{ port: number; dataConnections: () => number; close: () => Promise<void> }> {
  let count = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    const up = connect(upstreamPort, '127.0.0.1');
    sockets.add(up);
    client.once('data', () => count++);
    client.pipe(up);
    up.pipe(client);
    const end = () => {
      client.destroy();
      up.destroy();
    };
    client.on('error', end);
    up.on('error', end);
    client.on('close', end);
    up.on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    dataConnections: () => count,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
