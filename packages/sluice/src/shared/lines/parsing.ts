import type { ConfigElement } from '../../config/ast.ts';
import { iconvLite } from '../../core/lazy-require.ts';
import type { ParserPlugin, PluginContext } from '../../core/plugin.ts';
import type { CriParser } from '../parse/cri.ts';
import { CriAssembler } from './cri.ts';
import {
  type EncoderOptions,
  JsonEncoder,
  type LineEncoder,
  NoneEncoder,
  ParserEncoder,
} from './line-encoder.ts';
import { type LineAssembler, MultilineAssembler, type MultilineParser } from './multiline.ts';

export interface Parsing {
  encoder: LineEncoder;
  /** the line terminator in the file's encoding */
  eol: Buffer;
  /** a new assembler per file, when lines are joined before parsing (multiline, CRI partials) */
  multiline?: () => LineAssembler;
  /** which path lines take, for logs and the benchmark */
  mode: 'none-fast' | 'json-fast' | 'parser' | 'multiline' | 'cri';
}

/** What line parsing needs of an input's options (in_tail's TailOptions has them all). */
export interface ParsingOptions {
  /** the `<parse>` element */
  parse: ConfigElement;
  pathKey?: string;
  fromEncoding?: string;
  emitUnmatchedLines: boolean;
  maxLineSize?: number;
}

/** Params of a `<parse>` element other than @type. */
function extraParams(opts: ParsingOptions): Map<string, string> {
  const m = new Map<string, string>();
  for (const p of opts.parse.params) if (p.key !== '@type' && p.key !== 'type') m.set(p.key, p.value);
  return m;
}

/**
 * Chooses how lines become entries. `none` and default `json` take the fast paths
 * (bytes to msgpack without the parser plugin per line); everything else goes
 * through the configured parser plugin, built once and lazily.
 */
export function buildParsing(opts: ParsingOptions, ctx: PluginContext): Parsing {
  const type = opts.parse.params.findLast((p) => p.key === '@type' || p.key === 'type')?.value ?? 'none';
  const extra = extraParams(opts);
  let parser: ParserPlugin | undefined;
  const getParser = (): ParserPlugin => {
    parser ??= ctx.createNested<ParserPlugin>('parser', opts.parse, 'none');
    return parser;
  };
  const eo: EncoderOptions = {
    pathKey: opts.pathKey,
    fromEncoding: opts.fromEncoding,
    emitUnmatchedLines: opts.emitUnmatchedLines,
    unmatched: (tag, time, record, error) => ctx.emitError(tag, time, record, error),
    warn: (msg, extra) => ctx.logger.warn(extra ?? {}, msg),
  };
  const eol = opts.fromEncoding ? iconvLite().encode('\n', opts.fromEncoding) : Buffer.from('\n');
  const generic = new ParserEncoder(getParser, eo);

  if (type === 'multiline') {
    // Built now: a multiline parser without its plugin cannot work at all.
    const p = getParser() as MultilineParser;
    return {
      encoder: generic,
      eol,
      mode: 'multiline',
      multiline: () => new MultilineAssembler(() => p, opts.emitUnmatchedLines, eo.warn),
    };
  }
  if (type === 'cri') {
    // P partial lines are joined per file and stream before the parser sees the line.
    const p = getParser() as CriParser;
    if (p.joinPartials)
      return {
        encoder: generic,
        eol,
        mode: 'cri',
        multiline: () => new CriAssembler(opts.maxLineSize, eo.warn),
      };
    return { encoder: generic, eol, mode: 'parser' };
  }
  if (type === 'none' && [...extra.keys()].every((k) => k === 'message_key')) {
    return { encoder: new NoneEncoder(extra.get('message_key') ?? 'message', eo), eol, mode: 'none-fast' };
  }
  if (type === 'json' && extra.size === 0) {
    return { encoder: new JsonEncoder('time', generic, eo), eol, mode: 'json-fast' };
  }
  getParser(); // fail at startup, not at the first line, when the parser cannot be built
  return { encoder: generic, eol, mode: 'parser' };
}
