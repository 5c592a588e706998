// The _id of each document when the config gives no id_key. See docs/outputs/elasticsearch.md,
// "Ids": the point is that the same event sent twice lands once.
import { createHash } from 'node:crypto';
import type { Chunk } from '../../../core/plugin.ts';

export type IdPolicy = 'chunk' | 'hash' | 'none';

/** The _id of entry `index` of `chunk` (bytes[start, end)), or undefined to let the server make one. */
export type IdOf = (
  chunk: Chunk,
  index: number,
  bytes: Buffer,
  start: number,
  end: number,
) => string | undefined;

/**
 * chunk (the default): `<chunk id>-<entry index>`. The chunk id is the buffer chunk's (32 hex
 * digits; for a file buffer it is in the file name, buffer.q<id>.log) and the index counts
 * entries from the start of the chunk, whose file is only ever appended to. A retry sends the
 * same chunk, so the same ids; after kill -9 the file is resumed with the same id and the same
 * entries in the same order (a torn last entry, cut on resume, was never accepted), so the
 * replay makes the same ids again. Two distinct events never share an id, even identical ones.
 * What it does not fold: an event its source emits twice (a forward client that resends after
 * a lost ack, in_tail re-reading lines whose position was not yet committed) lands in another
 * chunk or place and is another document; `hash` folds those when the time is the same.
 */
export function idPolicy(policy: IdPolicy): IdOf {
  switch (policy) {
    case 'chunk':
      return (chunk, index) => `${chunk.id}-${index}`;
    case 'hash':
      // SHA-256 of the entry's msgpack ([time, record], as the buffer holds it), first 20 bytes
      // in base64url: 27 characters.
      return (_chunk, _index, bytes, start, end) =>
        createHash('sha256')
          .update(bytes.subarray(start, end))
          .digest()
          .subarray(0, 20)
          .toString('base64url');
    case 'none':
      return () => undefined;
  }
}
