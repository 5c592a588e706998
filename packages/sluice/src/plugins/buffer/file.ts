import { basename, dirname, join, resolve } from 'node:path';
import { type ChunkNames, FileStore } from '../../buffer/file-store.ts';
import type { ChunkStore } from '../../buffer/store.ts';
import { defineParams } from '../../config/schema.ts';
import { ConfigError } from '../../core/errors.ts';
import type { PluginDescriptor } from '../../core/plugin.ts';

const params = defineParams({
  path: {
    type: 'string',
    default: null,
    description:
      "Where the chunk files go, as in Fluentd: a directory (chunks named buffer.*.log, created if missing), or a file pattern with '*' such as /var/log/fluent/app.*.log or app.* ('*' stands for the chunk id; '.log' is added after a final '*'). Default: <root_dir>/buffer/<plugin @id>. With several workers each uses a worker<N> subdirectory.",
  },
  fsync: {
    type: 'bool',
    default: false,
    description:
      'Sluice extension: fdatasync each append before accepting it, so accepted events also survive power loss (a crash of the process is survived without it).',
  },
});

/**
 * Fluentd's buf_file reads `path` as a directory unless it holds a `*`, which then stands
 * for the chunk id in the file names (`app.*.log` -> app.b<id>.log); a final `*` gets
 * Fluentd's `.log` suffix. Patterns let several outputs keep their chunks in one directory.
 */
export function chunkLocation(path: string): { dir: string; names?: ChunkNames } {
  const abs = resolve(path);
  const star = basename(abs).indexOf('*');
  if (star < 0) return { dir: abs };
  const base = basename(abs);
  const suffix = base.slice(star + 1);
  return {
    dir: dirname(abs),
    names: { prefix: base.slice(0, star), suffix: suffix === '' ? '.log' : suffix },
  };
}

/** `<buffer> @type file`: chunks in files that survive a crash of the process (see docs/buffer.md). */
const descriptor: PluginDescriptor<ChunkStore, { params: typeof params }> = {
  kind: 'buffer',
  type: 'file',
  description:
    'Keeps chunks in append-only files; every accepted event survives a crash and is resumed on start.',
  schema: { params },
  create(config, ctx) {
    const p = config.params;
    let dir: string;
    let names: ChunkNames | undefined;
    if (p.path) ({ dir, names } = chunkLocation(p.path));
    else if (ctx.stateDir) dir = join(ctx.stateDir, 'buffer', ctx.id);
    else
      throw new ConfigError(
        "<buffer> @type file needs 'path' (or a <system> root_dir)",
        config.element.location,
      );
    if (ctx.workers > 1) dir = join(dir, `worker${ctx.workerId}`);
    return new FileStore({ dir, logger: ctx.logger, fsync: p.fsync, names });
  },
};
export default descriptor;
