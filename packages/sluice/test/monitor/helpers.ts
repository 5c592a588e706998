import { EventTime } from '@sluice/forward';
import pino from 'pino';
import { EventBatch } from '../../src/core/batch.ts';
import { Engine } from '../../src/core/engine.ts';
import type { OutputPlugin, PluginDescriptor } from '../../src/core/plugin.ts';
import { registerPlugin } from '../../src/plugins/registry.ts';
import { registerTestPlugins } from '../helpers/capture.ts';

/** Names of test_retry outputs that currently fail every write. */
export const failing = new Set<string>();

const retryOutput: PluginDescriptor<OutputPlugin> = {
  kind: 'output',
  type: 'test_retry',
  description: 'test-only: a buffered output whose writes fail while its name is in `failing`',
  schema: {
    params: {
      name: { type: 'string', default: 'out', description: 'key in `failing`' },
      token: { type: 'secret', default: '', description: 'a secret, to check that monitor_agent masks it' },
    },
  },
  buffered: 'always',
  create(config) {
    const name = config.params.name as string;
    return {
      async write() {
        if (failing.has(name)) return { status: 'retry', error: new Error(`receiver ${name} is down`) };
        return { status: 'ok' };
      },
    };
  },
};

export function registerMonitorTestPlugins(): void {
  registerTestPlugins();
  registerPlugin(retryOutput as PluginDescriptor);
}

export interface Running {
  engine: Engine;
  logs: Record<string, unknown>[];
  /** base URL a monitoring plugin logged when it started listening */
  url(type?: string): string;
  stop(): Promise<void>;
}

/** Builds and starts an engine in-process, capturing its log to find the monitor's port. */
export async function startEngine(conf: string): Promise<Running> {
  const logs: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (s: string) => void logs.push(JSON.parse(s) as Record<string, unknown>) },
  );
  const engine = await Engine.fromText(conf, { logger });
  await engine.start();
  let stopped = false;
  return {
    engine,
    logs,
    url(type = 'monitor_agent') {
      const line = logs.find((l) => l.type === type && typeof l.url === 'string');
      if (!line) throw new Error(`no ${type} listening line in the log`);
      return new URL(line.url as string).origin;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await engine.stop();
    },
  };
}

export function events(
  tag: string,
  n: number,
  record: Record<string, unknown> = { message: 'x' },
): EventBatch {
  return EventBatch.fromEntries(
    tag,
    Array.from({ length: n }, () => ({ time: new EventTime(1700000000, 0), record })),
  );
}

export async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url);
  const text = await res.text();
  return {
    status: res.status,
    body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text,
  };
}

/** Polls `check` (no sleeps as synchronisation elsewhere: this waits on a condition, bounded). */
export async function waitUntil<T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
