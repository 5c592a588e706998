import { FirehoseClient } from '@aws-sdk/client-firehose';
import pino from 'pino';
import { Engine } from '../../../src/engine/engine.ts';
import { captured, registerTestPlugins, resetCapture } from '../../helpers/capture.ts';
import { freePort } from '../../helpers/ports.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export const CREDS = { accessKeyId: 'AKIDSLUICETEST', secretAccessKey: 'sluice-test-secret' };

export interface Running {
  engine: Engine;
  port: number;
  endpoint: string;
  stop(): Promise<void>;
}

/** A real engine whose config is built around a free port (`${port}` in the body). */
export async function runEngine(body: (port: number) => string): Promise<Running> {
  registerTestPlugins();
  resetCapture();
  const port = await freePort();
  const engine = await Engine.fromText(body(port), {
    logger: pino({ level: process.env.SLUICE_TEST_LOG ?? 'silent' }),
  });
  await engine.start();
  return { engine, port, endpoint: `http://127.0.0.1:${port}`, stop: () => engine.stop() };
}

/** The AWS SDK's Firehose client pointed at Sluice; one attempt unless told otherwise. */
export function client(endpoint: string, o: { maxAttempts?: number; credentials?: typeof CREDS } = {}) {
  return new FirehoseClient({
    endpoint,
    region: 'us-east-1',
    credentials: o.credentials ?? CREDS,
    maxAttempts: o.maxAttempts ?? 1,
  });
}

/** Records the test_capture output `name` received, with their tags. */
export function received(name = 'out'): { tag: string; record: Record<string, unknown> }[] {
  return (captured.get(name) ?? []).flatMap((b) =>
    b.entries().map((e) => ({ tag: b.tag, record: e.record })),
  );
}

export const enc = (s: string) => new TextEncoder().encode(s);
