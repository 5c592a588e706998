import { EventEmitter } from 'node:events';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { ConfigElement } from '../../config/ast.ts';
import { defineParams, defineSchema } from '../../config/schema.ts';
import type { EventBatch } from '../../core/batch.ts';
import { BatchBuilder, strBytes } from '../../core/batch-builder.ts';
import { ConfigError } from '../../core/errors.ts';
import type { InputPlugin, PluginContext, PluginDescriptor } from '../../core/plugin.ts';
import type { LineSource } from '../../shared/lines/line-encoder.ts';
import { buildParsing, type Parsing, type ParsingOptions } from '../../shared/lines/parsing.ts';

// Lines from standard input (Fluent Bit's in_stdin; fluent-agent-lite's TARGET_FILE `-`).
// Lines take the same encoders as the tail input (`none` and `json` write msgpack straight
// from the read buffer). Reading pauses while a batch waits for the outputs, so a slow
// route pushes back on the writer of the pipe instead of filling memory.

const params = defineParams({
  tag: { type: 'string', required: true, description: 'Tag of the events.' },
  read_lines_limit: { type: 'integer', default: 5000, description: 'Most lines in one emitted batch.' },
});

/** Emits `end` once standard input is exhausted and every line of it was accepted. */
export const stdinEvents = new EventEmitter();

/**
 * Standard input read 1 MiB at a time (process.stdin reads 64 KiB), so a batch holds
 * thousands of lines; a terminal keeps Node's own stream.
 */
function stdinStream(): Readable {
  if (process.stdin.isTTY) return process.stdin;
  return createReadStream('', { fd: 0, highWaterMark: 1 << 20, autoClose: false });
}

const SOURCE: LineSource = { path: '-', tag: '', pathStr: strBytes('-') };

export class StdinInput implements InputPlugin {
  private readonly w = new BatchBuilder(1 << 20);
  private carry: Buffer | undefined;
  private stream: Readable | undefined;
  private pending: Promise<void> = Promise.resolve();
  private stopped = false;
  private inflight = 0;
  private readonly src: LineSource;
  lines = 0;

  constructor(
    private readonly ctx: PluginContext,
    private readonly tag: string,
    private readonly parsing: Parsing,
    private readonly limit: number,
    private input: () => Readable = stdinStream,
  ) {
    this.src = { ...SOURCE, tag };
  }

  async start(): Promise<void> {
    const s = this.input();
    this.stream = s;
    s.on('data', (d: Buffer) => this.onData(d));
    s.on('end', () => this.onEnd());
    s.on('error', (e: NodeJS.ErrnoException) => {
      // A non-blocking descriptor cannot be read from the thread pool: take Node's stdin stream.
      if (e.code === 'EAGAIN' && this.lines === 0 && !this.carry && s !== process.stdin) {
        this.input = () => process.stdin;
        void this.start();
        return;
      }
      this.ctx.logger.error(
        { code: 'STDIN_READ_FAILED', err: e.message },
        'stdin: read error; no more lines will be read',
      );
      this.onEnd();
    });
  }

  private onData(d: Buffer): void {
    if (this.stopped) return;
    const eol = this.parsing.eol[0]!;
    const now = Date.now();
    const sec = Math.floor(now / 1000);
    const nsec = (now % 1000) * 1_000_000;
    let start = 0;
    let nl = d.indexOf(eol);
    if (this.carry) {
      // Only the line cut by the previous read is joined; the rest is read in place.
      if (nl < 0) {
        this.carry = Buffer.concat([this.carry, d]);
        return;
      }
      const first = Buffer.concat([this.carry, d.subarray(0, nl)]);
      this.carry = undefined;
      this.encode(first, 0, first.length, sec, nsec);
      start = nl + 1;
      nl = d.indexOf(eol, start);
    }
    while (nl >= 0) {
      this.encode(d, start, nl, sec, nsec);
      start = nl + 1;
      nl = d.indexOf(eol, start);
    }
    if (start < d.length) this.carry = Buffer.from(d.subarray(start));
    this.flush();
  }

  private encode(buf: Buffer, start: number, end: number, sec: number, nsec: number): void {
    this.parsing.encoder.line(this.w, buf, start, end, this.src, sec, nsec);
    this.lines++;
    if (this.w.count >= this.limit) this.flush();
  }

  /** Hands the lines so far to the router; reading waits until they are accepted. */
  private flush(): void {
    if (this.w.count === 0) return;
    // Over the writer's memory, which it takes back once the lines were accepted.
    const batch = this.w.lend(this.tag);
    this.stream?.pause();
    this.inflight++;
    const done = this.emitUntilAccepted(batch).then((ok) => {
      if (ok) this.w.reclaim(batch);
      if (--this.inflight === 0 && !this.stopped) this.stream?.resume();
    });
    this.pending = this.pending.then(() => done);
  }

  /** False when the batch was given up while stopping. */
  private async emitUntilAccepted(batch: EventBatch): Promise<boolean> {
    // A refused batch is retried (as the tail input does): lines read from a pipe cannot
    // be read again, so dropping them would lose them.
    for (;;) {
      try {
        await this.ctx.emit(batch);
        return true;
      } catch (e) {
        if (this.stopped) {
          this.ctx.logger.error(
            { code: 'EMIT_FAILED', err: (e as Error).message, lines: batch.count },
            'stdin: batch refused while stopping',
          );
          return false;
        }
        this.ctx.logger.warn(
          { code: 'EMIT_RETRY', err: (e as Error).message },
          'stdin: batch refused; retrying in 1s',
        );
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private onEnd(): void {
    if (this.carry && this.carry.length > 0) {
      // A last line without its newline is still a line.
      const c = this.carry;
      this.carry = undefined;
      const now = Date.now();
      this.encode(c, 0, c.length, Math.floor(now / 1000), (now % 1000) * 1_000_000);
    }
    this.flush();
    void this.pending.then(() => {
      this.ctx.logger.info({ lines: this.lines }, 'stdin: end of input, every line accepted');
      stdinEvents.emit('end', this.lines);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stream?.pause();
    await this.pending;
  }
}

const schema = defineSchema({
  params,
  sections: {
    parse: {
      description: 'How lines become records (default `none`: the line as `message`).',
      plugin: 'parser',
    },
  },
});

const descriptor: PluginDescriptor<StdinInput, typeof schema> = {
  kind: 'input',
  type: 'stdin',
  description:
    'Reads lines from standard input (Fluent Bit in_stdin), with backpressure; signals the end of input.',
  schema,
  create(config, ctx) {
    const p = config.params;
    if (p.read_lines_limit < 1)
      throw new ConfigError('read_lines_limit must be at least 1', config.element.location);
    const section = config.sections.parse;
    const parse: ConfigElement = section?.element ?? {
      name: 'parse',
      arg: '',
      params: [{ key: '@type', value: 'none', location: config.element.location }],
      elements: [],
      location: config.element.location,
    };
    const opts: ParsingOptions = { parse, emitUnmatchedLines: false };
    const parsing = buildParsing(opts, ctx);
    if (parsing.multiline)
      throw new ConfigError(
        'stdin: multiline parsers are not supported (use the tail input)',
        config.element.location,
      );
    return new StdinInput(ctx, p.tag, parsing, p.read_lines_limit);
  },
};

export default descriptor;
