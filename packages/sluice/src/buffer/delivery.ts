// Writing one chunk: read it from the store, call the output's write() bounded by
// delayed_commit_timeout, fall over to <secondary>, and back up what cannot be delivered.
import { join } from 'node:path';
import { decodeEntries, type Entry } from '../core/batch.ts';
import { errorCodeOf, SluiceError } from '../core/errors.ts';
import { expandPlaceholders } from '../core/placeholders.ts';
import type { Chunk, OutputPlugin, PluginContext, WriteResult } from '../core/plugin.ts';
import type { BufferConfig } from './params.ts';
import { type ChunkStore, defaultRootDir, type StoredChunk } from './store.ts';

export interface DeliveryTargets {
  output: OutputPlugin;
  secondary?: OutputPlugin;
  store: ChunkStore;
  config: BufferConfig;
  ctx: PluginContext;
}

function makeChunk(c: StoredChunk, bytes: Buffer, config: BufferConfig): Chunk {
  let entries: Entry[] | undefined;
  const zone = config.zone;
  return {
    id: c.id,
    keys: c.keys,
    bytes,
    count: c.count,
    entries: () => (entries ??= decodeEntries(bytes)),
    expand: (template: string, esc?: (value: string) => string) =>
      expandPlaceholders(template, c.keys, { zone, escape: esc }),
  };
}

/** One write() of the chunk to `target`; a throw or a timeout is a retry, an unreadable chunk fatal. */
async function attempt(t: DeliveryTargets, target: OutputPlugin, c: StoredChunk): Promise<WriteResult> {
  let bytes: Buffer;
  try {
    bytes = await t.store.read(c);
  } catch (e) {
    return {
      status: 'fatal',
      error: new SluiceError('BUFFER_IO_FAILED', `cannot read buffer chunk ${c.id}: ${(e as Error).message}`),
    };
  }
  const limit = t.config.delayedCommitTimeout;
  let timer: NodeJS.Timeout | undefined;
  try {
    const write = target.write!(makeChunk(c, bytes, t.config));
    const timeout = new Promise<WriteResult>((res) => {
      timer = setTimeout(() => {
        // The write goes on in the background: its bytes must not be recycled.
        c.writeAbandoned = true;
        res({
          status: 'retry',
          error: new SluiceError(
            'BUFFER_COMMIT_TIMEOUT',
            `write() did not finish within delayed_commit_timeout (${limit}s)`,
          ),
        });
      }, limit * 1000);
      timer.unref();
    });
    return await Promise.race([write, timeout]);
  } catch (e) {
    // A plugin threw something that is not an Error: still a retry, with what it threw.
    return {
      status: 'retry',
      error: e instanceof Error ? e : new SluiceError('OUTPUT_WRITE_FAILED', String(e)),
    };
  } finally {
    clearTimeout(timer);
    if (!c.writeAbandoned) t.store.readDone?.(c);
  }
}

/**
 * Writes the chunk to the primary output, or to <secondary> when `toSecondary` (the retry
 * schedule says so) or when the primary failed for good. `viaSecondary`: the secondary
 * took it.
 */
export async function deliver(
  t: DeliveryTargets,
  c: StoredChunk,
  toSecondary: boolean,
): Promise<{ result: WriteResult; viaSecondary: boolean }> {
  const result = await attempt(t, toSecondary ? t.secondary! : t.output, c);
  if (result.status === 'fatal' && !toSecondary && t.secondary?.write) {
    t.ctx.logger.warn(
      {
        code: 'BUFFER_SECONDARY',
        errorCode: errorCodeOf(result.error),
        output: t.ctx.id,
        chunk: c.id,
        err: result.error,
      },
      'unrecoverable error in the primary output; trying <secondary>',
    );
    const second = await attempt(t, t.secondary, c);
    if (second.status === 'ok') return { result: second, viaSecondary: true };
  }
  return { result, viaSecondary: toSecondary && result.status === 'ok' };
}

/** Copies an undeliverable chunk to root_dir/backup/worker<N>/<output id>/<chunk id>.log. */
export async function backupChunk(store: ChunkStore, c: StoredChunk, ctx: PluginContext): Promise<boolean> {
  const file = join(
    ctx.stateDir ?? defaultRootDir(),
    'backup',
    `worker${ctx.workerId}`,
    ctx.id,
    `${c.id}.log`,
  );
  try {
    await store.backup(c, file);
    ctx.logger.warn(
      { code: 'BUFFER_BACKED_UP', output: ctx.id, chunk: c.id, events: c.count, backup: file },
      'undeliverable chunk backed up',
    );
    return true;
  } catch (e) {
    ctx.logger.error(
      { code: 'BUFFER_LOST', output: ctx.id, chunk: c.id, events: c.count, err: e },
      'undeliverable chunk could not be backed up; dropped',
    );
    return false;
  }
}
