import { packr } from '@sluice/forward';
import { param } from '../../config/ast.ts';
import { defineParams } from '../../config/schema.ts';
import type { EventRecord } from '../../core/batch.ts';
import { BatchBuilder } from '../../core/batch-builder.ts';
import { ConfigError } from '../../core/errors.ts';
import type { InputPlugin, PluginContext, PluginDescriptor } from '../../core/plugin.ts';

// Fluentd's in_sample (alias dummy): `rate` emits per second, each of `size` events,
// cycling through the `sample` records. Emits are awaited one at a time, so a slow
// route slows the generator down instead of queueing batches.

const params = defineParams({
  tag: { type: 'string', required: true, description: 'Tag of the generated events.' },
  size: { type: 'integer', default: 1, description: 'Number of events in each emitted batch.' },
  rate: { type: 'integer', default: 1, description: 'Number of batches emitted per second.' },
  auto_increment_key: {
    type: 'string',
    default: null,
    description:
      'If set, each event gets this key with a counter starting at 0 (restarts at 0 with the process).',
  },
  suspend: {
    type: 'bool',
    default: false,
    description: 'Ignored, as in Fluentd (deprecated there).',
    deprecated: 'ignored',
  },
  sample: {
    type: 'string',
    default: '[{"message":"sample"}]',
    aliases: ['dummy'],
    description: 'The records to generate: a JSON hash, or a JSON array of hashes used in turn.',
  },
});

/** Parses and checks `sample` as Fluentd does: a hash, or an array whose every element is a hash. */
export function parseSample(
  text: string,
  where?: import('../../core/errors.ts').SourceLocation,
): EventRecord[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`parameter 'sample': invalid JSON: ${(e as Error).message}`, where);
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  list.forEach((e, i) => {
    if (e === null || typeof e !== 'object' || Array.isArray(e)) {
      throw new ConfigError(`parameter 'sample': element ${i} (${JSON.stringify(e)}) is not a hash`, where);
    }
  });
  if (list.length === 0) throw new ConfigError("parameter 'sample': the array is empty", where);
  return list as EventRecord[];
}

/** How long to wait when nothing is due, and how long one run of emits may hold the event loop. */
const MAX_SLICE_MS = 20;

/** Wall-clock time with sub-millisecond resolution, as (sec, nsec), without allocating an object. */
const origin = process.hrtime();
const originMs = Date.now();
let nowSec = 0;
let nowNsec = 0;
function readClock(): void {
  const d = process.hrtime(origin);
  const totalNs = (originMs % 1000) * 1_000_000 + d[1];
  nowSec = Math.floor(originMs / 1000) + d[0] + Math.floor(totalNs / 1e9);
  nowNsec = totalNs % 1e9;
}

export class SampleInput implements InputPlugin {
  private readonly samples: EventRecord[];
  /** pre-encoded records, used when no per-event key is added */
  private readonly encoded: Buffer[];
  private index = 0;
  private counter = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly builder: BatchBuilder;

  constructor(
    private readonly ctx: PluginContext,
    private readonly tag: string,
    private readonly size: number,
    private readonly rate: number,
    private readonly incrementKey: string | undefined,
    samples: EventRecord[],
  ) {
    this.samples = samples;
    this.encoded = samples.map((s) => Buffer.from(packr.pack(s)));
    this.builder = new BatchBuilder(Math.max(256, Math.min(1 << 20, size * (this.encoded[0]!.length + 16))));
  }

  async start(): Promise<void> {
    this.running = true;
    this.ctx.signal.addEventListener('abort', () => void this.stop(), { once: true });
    this.loop = this.run().catch((e) => {
      this.ctx.logger.error({ code: 'INPUT_FAILED', err: e }, 'sample input stopped on an error');
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
  }

  /** The next batch of `size` events. */
  private build() {
    const b = this.builder;
    for (let i = 0; i < this.size; i++) {
      readClock();
      const k = this.index;
      this.index = k + 1 === this.samples.length ? 0 : k + 1;
      if (this.incrementKey === undefined) {
        b.addRaw(nowSec, nowNsec, this.encoded[k]!);
      } else {
        const rec = { ...this.samples[k]!, [this.incrementKey]: this.counter++ };
        b.addRaw(nowSec, nowNsec, packr.pack(rec));
      }
    }
    return b.take(this.tag);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      // When behind schedule, only yield to pending I/O (a timer would cost a millisecond).
      if (ms < 1) setImmediate(resolve);
      else this.timer = setTimeout(resolve, ms);
    });
  }

  private async run(): Promise<void> {
    // Emit number n (0-based) is due at start + n/rate seconds: the first one at once.
    // When emits fall more than a second behind (a slow route), the schedule restarts
    // from now rather than bursting to catch up, as Fluentd's per-second loop does.
    let start = performance.now();
    let done = 0;
    while (this.running) {
      const sliceStart = performance.now();
      let now = sliceStart;
      let due = Math.floor(((now - start) * this.rate) / 1000) + 1;
      if (due - done > this.rate) {
        start = now;
        done = 0;
        due = 1;
      }
      while (this.running && done < due) {
        try {
          await this.ctx.emit(this.build());
        } catch (e) {
          // As Fluentd: an emit error (e.g. a full buffer) does not stop the generator.
          this.ctx.logger.warn({ code: 'EMIT_FAILED', err: e }, 'sample: emit failed');
        }
        done++;
        if ((done & 63) === 0) {
          now = performance.now();
          if (now - sliceStart > MAX_SLICE_MS) break;
        }
      }
      if (!this.running) break;
      now = performance.now();
      // Give I/O a turn even when always behind; otherwise sleep until the next emit is due.
      const nextAt = start + (done * 1000) / this.rate;
      await this.sleep(Math.max(0, Math.min(1000, nextAt - now)));
    }
  }
}

const descriptor: PluginDescriptor<SampleInput, { params: typeof params }> = {
  kind: 'input',
  multiWorkers: true,
  type: 'sample',
  aliases: ['dummy'],
  description: 'Generates sample events at a fixed rate (Fluentd in_sample / in_dummy).',
  schema: { params },
  create(config, ctx) {
    const p = config.params;
    const el = config.element;
    const where = (k: string) => param(el, k)?.location ?? el.location;
    if (p.size < 1)
      throw new ConfigError(`parameter 'size' must be at least 1 (got ${p.size})`, where('size'));
    if (p.rate < 1)
      throw new ConfigError(`parameter 'rate' must be at least 1 (got ${p.rate})`, where('rate'));
    const samples = parseSample(
      p.sample,
      param(el, 'sample')?.location ?? param(el, 'dummy')?.location ?? el.location,
    );
    return new SampleInput(ctx, p.tag, p.size, p.rate, p.auto_increment_key, samples);
  },
};

export default descriptor;
