import { FirehoseClient } from '@aws-sdk/client-firehose';
import pino from 'pino';
import { Engine } from '../../../src/engine/engine.ts';
import { captured, registerTestPlugins, resetCapture } from '../../helpers/capture.ts';
import { freePort } from '../../helpers/ports.ts';
import type { Sink } from '../output/http-helpers.ts';

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

/** The <security> section that makes the source verify SigV4 signed with CREDS. */
export const SECURITY = `<security>
    <access_key>
      access_key_id ${CREDS.accessKeyId}
      secret_access_key ${CREDS.secretAccessKey}
    </access_key>
  </security>`;

/**
 * A firehose source (stream `logs`, plus `sourceLines`) in front of an http output to a sink
 * on `sinkPort` whose memory buffer holds 2 KiB and refuses more (throw_exception), retrying
 * every 0.2 s: with the sink answering 503 the buffer fills after a few records.
 */
export function fullBufferPipeline(port: number, sinkPort: number, sourceLines = ''): string {
  return `<source>
  @type firehose
  port ${port}
  bind 127.0.0.1
  delivery_streams logs${sourceLines && `\n${sourceLines}`}
</source>
<match logs>
  @type http
  endpoint http://127.0.0.1:${sinkPort}/in
  <buffer>
    @type memory
    chunk_limit_size 1k
    total_limit_size 2k
    overflow_action throw_exception
    flush_mode immediate
    retry_wait 0.2
    retry_randomize false
    retry_max_interval 0.2
  </buffer>
</match>`;
}

/** The `n` of every JSON line the sink has received (a record sent as {n, pad}). */
export function sinkNumbers(sink: Sink): number[] {
  return sink.requests.flatMap((r) =>
    r.text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l).n as number),
  );
}

/** A PutRecordBatch record {n, pad}: about 220 bytes, so a few fill the 2 KiB buffer. */
export const numbered = (n: number) => ({ Data: enc(JSON.stringify({ n, pad: 'p'.repeat(200) })) });
