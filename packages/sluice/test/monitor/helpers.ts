import { after, beforeEach } from 'node:test';
import { EventTime } from '@sluice/forward';
import pino from 'pino';
import { EventBatch } from '../../src/core/batch.ts';
import type { OutputPlugin, PluginDescriptor } from '../../src/core/plugin.ts';
import { Engine } from '../../src/engine/engine.ts';
import { registerPlugin } from '../../src/engine/registry.ts';
import { registerTestPlugins, resetCapture } from '../helpers/capture.ts';

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

function registerMonitorTestPlugins(): void {
  registerTestPlugins();
  registerPlugin(retryOutput as PluginDescriptor);
}

/**
 * The app pipeline the monitor tests watch: input `in_app` (tag app), filter `mark` on app.**,
 * output `out_app` (capture "app") for app.**, and the buffered `out_web` (test_retry "web",
 * with a secret `token`) for web.**. Put a monitoring `<source>` before it.
 */
export const APP_PIPELINE = `
<source>
  @type test_input
  @id in_app
  tag app
</source>
<filter app.**>
  @type test_mark
  @id mark
  mark m
</filter>
<match app.**>
  @type test_capture
  @id out_app
  name app
</match>
<match web.**>
  @type test_retry
  @id out_web
  name web
  token s3cr3t
  <buffer>
    flush_mode immediate
    retry_wait 30s
    chunk_limit_size 1k
    total_limit_size 10k
  </buffer>
</match>
`;

/**
 * The setup of a monitor test file: registers the test plugins, clears the captures and the
 * failing outputs before each test, and returns `start`, which starts an engine
 * (`startEngine`) that is stopped after the file's tests even when a test failed.
 */
export function monitorTestFile(): (conf: string) => Promise<Running> {
  registerMonitorTestPlugins();
  beforeEach(() => {
    resetCapture();
    failing.clear();
  });
  const running: Running[] = [];
  after(async () => {
    failing.clear();
    for (const r of running) await r.stop();
  });
  return async (conf) => {
    const r = await startEngine(conf);
    running.push(r);
    return r;
  };
}

export interface Running {
  engine: Engine;
  logs: Record<string, unknown>[];
  /** base URL a monitoring plugin logged when it started listening */
  url(type?: string): string;
  stop(): Promise<void>;
}

/** Builds and starts an engine in-process, capturing its log to find the monitor's port. */
async function startEngine(conf: string): Promise<Running> {
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

export { waitUntil } from '../helpers/wait.ts';
