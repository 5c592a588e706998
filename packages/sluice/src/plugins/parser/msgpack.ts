import { unpackr } from '@sluice/forward';
import type { PluginDescriptor } from '../../core/plugin.ts';
import { type ParseResult, ParserCore, parserSchema, type SluiceParser } from '../../shared/parse/common.ts';

// Fluentd's parser_msgpack: binary input holding one or more msgpack values; a map is a
// record, an array is a list of records. Unlike Fluentd's streaming unpacker, a value
// cut at the end of the data is not kept for the next call: the data must be whole.
class MsgpackParser implements SluiceParser {
  lastError: string | undefined;
  constructor(readonly core: ParserCore) {}

  private one(v: unknown): ParseResult | undefined {
    // Only plain maps are records (msgpackr decodes some invalid bytes to marker objects).
    const proto = v !== null && typeof v === 'object' ? Object.getPrototypeOf(v) : undefined;
    if (proto !== Object.prototype && proto !== null) {
      this.lastError = 'not a msgpack map';
      return undefined;
    }
    const out = this.core.finish(v as Record<string, unknown>);
    if (!out) this.lastError = this.core.error;
    return out;
  }

  /** Text arrives as a string only through text-oriented callers: it is read as UTF-8 bytes. */
  parseAll(data: string | Uint8Array): (ParseResult | undefined)[] {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let values: unknown[];
    try {
      values = bytes.length === 0 ? [] : (unpackr.unpackMultiple(bytes) as unknown[]);
    } catch (e) {
      this.lastError = `invalid msgpack: ${(e as Error).message}`;
      return [undefined];
    }
    const out: (ParseResult | undefined)[] = [];
    for (const v of values) {
      if (Array.isArray(v)) for (const x of v) out.push(this.one(x));
      else out.push(this.one(v));
    }
    return out;
  }

  /** The first record; undefined when the data holds anything but exactly one map. */
  parse(data: string | Uint8Array): ParseResult | undefined {
    const all = this.parseAll(data);
    if (all.length !== 1) {
      if (all.length > 1) this.lastError = `${all.length} records where one was expected`;
      else this.lastError = 'no msgpack value';
      return undefined;
    }
    return all[0];
  }
}

const schema = parserSchema({});

export default {
  kind: 'parser',
  type: 'msgpack',
  description: 'MessagePack maps (or arrays of maps) as records.',
  schema,
  create: (config, ctx) => new MsgpackParser(new ParserCore(config, ctx)),
} satisfies PluginDescriptor<SluiceParser, typeof schema>;
