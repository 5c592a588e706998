// A chunk written through a formatter plugin, for the outputs that write or send a chunk as
// one body (file, http, s3).
import type { Chunk, FormatterPlugin } from '../../core/plugin.ts';

/** Every event of `chunk` through the formatter, concatenated in one Buffer. */
export function formatChunk(formatter: FormatterPlugin, chunk: Chunk): Buffer {
  // The buffer keeps one tag per chunk even when tag is not a chunk key.
  const tag = chunk.keys.tag ?? '';
  const out: Buffer[] = [];
  for (const e of chunk.entries()) {
    const v = formatter.format(tag, e.time, e.record);
    out.push(typeof v === 'string' ? Buffer.from(v) : v);
  }
  return Buffer.concat(out);
}
