import { mkdir, open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { defineParams, type ParamsOf } from '../../config/schema.ts';
import { ConfigError, SluiceError } from '../../core/errors.ts';
import type { Chunk, OutputPlugin, PluginDescriptor, WriteResult } from '../../core/plugin.ts';
import { escapePathValue } from '../../shared/file-out/path-template.ts';

// Fluentd's out_secondary_file: inside <secondary>, it dumps each chunk the primary output
// gave up on into a file, so nothing is lost while the destination is down for longer than
// the retries. The dump is the chunk as the buffer holds it: concatenated msgpack
// [time, record] entries (what Fluentd dumps for a primary without its own format, such as
// out_forward), readable with fluent-binlog-reader or any msgpack reader.

const gzip = promisify(gzipCb);

const params = defineParams({
  directory: {
    type: 'string',
    required: true,
    description:
      'Directory of the dump files; ${tag}, ${tag[N]}, ${chunk_id}, chunk keys and strftime of the primary’s chunk keys may be used.',
  },
  basename: {
    type: 'string',
    default: 'dump.bin',
    description: 'File name of the dumps (no /); the same placeholders as directory.',
  },
  append: {
    type: 'bool',
    default: false,
    description: 'Append every chunk to one file; false writes each chunk to a new <basename>.<N> file.',
  },
  compress: {
    type: 'enum',
    values: ['text', 'gzip'],
    default: 'text',
    description: 'gzip writes each chunk as a gzip member and adds .gz to the name.',
  },
});

type Params = ParamsOf<typeof params>;

/** Bound on the `<basename>.<N>` numbers tried for one chunk, so a full directory cannot loop forever. */
const MAX_SUFFIX = 100_000;

class SecondaryFileOutput implements OutputPlugin {
  private readonly template: string;
  private readonly suffix: string;

  constructor(private readonly p: Params) {
    this.template = join(p.directory, p.basename);
    this.suffix = p.compress === 'gzip' ? '.gz' : '';
  }

  async write(chunk: Chunk): Promise<WriteResult> {
    try {
      const base = chunk.expand(this.template.replaceAll('${chunk_id}', chunk.id), escapePathValue);
      await mkdir(dirname(base), { recursive: true, mode: 0o755 });
      const data = this.p.compress === 'gzip' ? await gzip(chunk.bytes) : chunk.bytes;
      const fh = await this.openTarget(base);
      try {
        await fh.writeFile(data);
      } finally {
        await fh.close();
      }
      return { status: 'ok' };
    } catch (e) {
      return { status: 'retry', error: e as Error };
    }
  }

  private async openTarget(base: string) {
    if (this.p.append) return open(`${base}${this.suffix}`, 'a', 0o644);
    // As Fluentd: the first <basename>.<N> that does not exist. 'wx' makes the choice
    // atomic, so two workers dumping at once never share a file.
    for (let i = 0; i < MAX_SUFFIX; i++) {
      try {
        return await open(`${base}.${i}${this.suffix}`, 'wx', 0o644);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    throw new SluiceError(
      'SECONDARY_FILE_FULL',
      `secondary_file: ${base}.0 to .${MAX_SUFFIX - 1} all exist; move old dumps away`,
    );
  }
}

const descriptor: PluginDescriptor<OutputPlugin, { params: typeof params }> = {
  kind: 'output',
  type: 'secondary_file',
  description:
    "Fluentd's out_secondary_file: in <secondary>, dumps the chunks the primary gave up on into files (msgpack [time, record] entries).",
  schema: { params },
  buffered: 'never',
  create(config) {
    if (config.element.name !== 'secondary')
      throw new ConfigError(
        'secondary_file can only be used in the <secondary> section',
        config.element.location,
      );
    const p = config.params;
    if (p.basename.includes('/'))
      throw new ConfigError('secondary_file: basename should not include `/`', config.element.location);
    return new SecondaryFileOutput(p);
  },
};
export default descriptor;
