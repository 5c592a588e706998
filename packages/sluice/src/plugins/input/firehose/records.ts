// Firehose records -> one batch of events, emitted once; what the pipeline refused comes
// back per record, as Firehose's RequestResponses say it, so a client resends only those.
import { randomBytes } from 'node:crypto';
import { EventTime } from '@sluice/forward';
import { EventBatch } from '../../../core/batch.ts';
import { BatchBuilder } from '../../../core/batch-builder.ts';
import { isBufferOverflow, SluiceError } from '../../../core/errors.ts';
import type { PluginContext } from '../../../core/plugin.ts';
import { JsonTranscoder } from '../../../shared/lines/json-msgpack.ts';
import type { SluiceParser } from '../../../shared/parse/common.ts';
import { INTERNAL_FAILURE, SLOW_DOWN } from './errors.ts';

export type RecordResult = { RecordId: string } | { ErrorCode: string; ErrorMessage: string };

/** Quoted in a log line: at most this many characters of a record that did not parse. */
const QUOTE = 200;

/**
 * Record ids: unique per process and cheap (a random prefix and a counter); Firehose's are
 * opaque strings too, which clients only log.
 */
const ID_PREFIX = randomBytes(12).toString('base64url');
let idSeq = 0;
export function recordId(): string {
  idSeq = (idSeq + 1) % Number.MAX_SAFE_INTEGER;
  return `${ID_PREFIX}${idSeq.toString(36).padStart(10, '0')}`;
}

export class RecordEmitter {
  /** json's byte path: JSON record bytes straight to msgpack, for the default <parse> */
  private readonly tc: JsonTranscoder | undefined;

  constructor(
    private readonly ctx: PluginContext,
    private readonly parser: SluiceParser,
    /** the record field a text that does not parse is kept in when routed to @ERROR */
    private readonly messageKey: string,
    /** the parser is json with its defaults, so the byte path writes what it would */
    defaultJson: boolean,
  ) {
    // A record with a top-level `time` (json's time_key) takes the parser, which reads its time.
    this.tc = defaultJson ? new JsonTranscoder(Buffer.from('time'), undefined) : undefined;
  }

  /**
   * Parses each record's data into an event of `tag` and emits them as one batch, awaiting
   * acceptance. A record that does not parse goes to @ERROR (it was received and is not
   * lost) and is answered as accepted. When the pipeline refuses the batch because a
   * buffer is full and `partial` is on, the records are offered again one by one until the
   * first refusal, so what fits is kept and only the rest is reported failed.
   */
  async emit(tag: string, records: Buffer[], partial = true): Promise<RecordResult[]> {
    let size = 64;
    for (const r of records) size += r.length + 32;
    const w = new BatchBuilder(size);
    const now = EventTime.now();
    // Entry i of the batch spans [ends[i-1], ends[i]); -1 marks a record sent to @ERROR.
    const ends = new Int32Array(records.length);
    const tc = this.tc;
    for (let i = 0; i < records.length; i++) {
      const data = records[i]!;
      if (tc) {
        const len = w.len;
        const count = w.count;
        w.beginEntry(now.sec, now.nsec);
        if (tc.transcode(w, data, 0, data.length)) {
          ends[i] = w.len;
          continue;
        }
        // Not JSON the byte path takes (a time field, escapes in a top-level key, invalid): the parser decides.
        w.rollback(len, count);
      }
      const text = data.toString('utf8');
      let parsed: ReturnType<SluiceParser['parse']>;
      let why: string | undefined;
      try {
        parsed = this.parser.parse(text);
      } catch (e) {
        why = (e as Error).message;
      }
      if (!parsed) {
        ends[i] = -1;
        const error = new SluiceError(
          'FIREHOSE_UNPARSED',
          `FIREHOSE_UNPARSED: ${why ?? this.parser.lastError ?? 'pattern not matched'}`,
        );
        this.ctx.emitError(tag, now, { [this.messageKey]: text }, error);
        this.ctx.logger.warn(
          { code: 'FIREHOSE_UNPARSED', tag, record: text.slice(0, QUOTE), error: error.message },
          'firehose record did not parse; routed to @ERROR',
        );
        continue;
      }
      const t = parsed.time ?? now;
      w.add(t, parsed.record);
      ends[i] = w.len;
    }
    const out: RecordResult[] = new Array(records.length);
    if (w.count === 0) {
      for (let i = 0; i < records.length; i++) out[i] = { RecordId: recordId() };
      return out;
    }
    const batch = w.take(tag);
    try {
      await this.ctx.emit(batch);
      for (let i = 0; i < records.length; i++) out[i] = { RecordId: recordId() };
      return out;
    } catch (e) {
      if (!partial || !isBufferOverflow(e) || batch.count === 1)
        return this.failAll(records.length, e, ends, out);
    }
    return this.oneByOne(batch, ends, out);
  }

  private async oneByOne(batch: EventBatch, ends: Int32Array, out: RecordResult[]): Promise<RecordResult[]> {
    let start = 0;
    let refused: unknown;
    for (let i = 0; i < ends.length; i++) {
      const end = ends[i]!;
      if (end < 0) {
        out[i] = { RecordId: recordId() };
        continue;
      }
      if (refused === undefined) {
        try {
          // A copy: the refused batch may still be read by an output that took it before another refused.
          await this.ctx.emit(new EventBatch(batch.tag, Buffer.from(batch.bytes.subarray(start, end)), 1));
          out[i] = { RecordId: recordId() };
        } catch (e) {
          refused = e;
        }
      }
      if (refused !== undefined) out[i] = failure(refused);
      start = end;
    }
    this.logRefused(refused, out);
    return out;
  }

  private failAll(n: number, e: unknown, ends: Int32Array, out: RecordResult[]): RecordResult[] {
    for (let i = 0; i < n; i++) out[i] = ends[i]! < 0 ? { RecordId: recordId() } : failure(e);
    this.logRefused(e, out);
    return out;
  }

  private logRefused(e: unknown, out: RecordResult[]): void {
    if (e === undefined) return;
    const failed = out.filter((r) => 'ErrorCode' in r).length;
    this.ctx.logger.warn(
      { code: 'FIREHOSE_RECORDS_REFUSED', failed, of: out.length, error: (e as Error).message },
      'firehose records refused by the pipeline; reported failed for the client to resend',
    );
  }
}

function failure(e: unknown): { ErrorCode: string; ErrorMessage: string } {
  return isBufferOverflow(e)
    ? { ErrorCode: SLOW_DOWN, ErrorMessage: `Slow down. ${(e as Error).message}` }
    : { ErrorCode: INTERNAL_FAILURE, ErrorMessage: `Internal service failure. ${(e as Error).message}` };
}
