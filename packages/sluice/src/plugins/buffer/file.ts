import { join, resolve } from 'node:path';
import { FileStore } from '../../buffer/file-store.ts';
import type { ChunkStore } from '../../buffer/store.ts';
import { defineParams } from '../../config/schema.ts';
import { ConfigError } from '../../core/errors.ts';
import type { PluginDescriptor } from '../../core/plugin.ts';

const params = defineParams({
  path: {
    type: 'string',
    default: null,
    description:
      'Directory of the chunk files (created if missing). Default: <root_dir>/buffer/<plugin @id>. With several workers each uses a worker<N> subdirectory.',
  },
  fsync: {
    type: 'bool',
    default: false,
    description:
      'Sluice extension: fdatasync each append before accepting it, so accepted events also survive power loss (a crash of the process is survived without it).',
  },
});

/** `<buffer> @type file`: chunks in files that survive a crash of the process (see docs/buffer.md). */
const descriptor: PluginDescriptor<ChunkStore> = {
  kind: 'buffer',
  type: 'file',
  description:
    'Keeps chunks in append-only files; every accepted event survives a crash and is resumed on start.',
  schema: { params },
  create(config, ctx) {
    const p = config.params as { path?: string; fsync: boolean };
    let dir: string;
    if (p.path) dir = resolve(p.path);
    else if (ctx.stateDir) dir = join(ctx.stateDir, 'buffer', ctx.id);
    else
      throw new ConfigError(
        "<buffer> @type file needs 'path' (or a <system> root_dir)",
        config.element.location,
      );
    if (ctx.workers > 1) dir = join(dir, `worker${ctx.workerId}`);
    return new FileStore({ dir, logger: ctx.logger, fsync: p.fsync });
  },
};
export default descriptor;
