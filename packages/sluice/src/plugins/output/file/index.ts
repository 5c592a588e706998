import type { EventTime } from '@sluice/forward';
import { recordJson } from '../../../codec/json.ts';
import { param } from '../../../config/ast.ts';
import { defineParams, defineSchema } from '../../../config/schema.ts';
import type { EventRecord } from '../../../core/batch.ts';
import type { BufferConfig } from '../../../core/buffer-config.ts';
import { ConfigError, internalError } from '../../../core/errors.ts';
import { checkPlaceholders, expandPlaceholders } from '../../../core/placeholders.ts';
import type {
  Chunk,
  FormatterPlugin,
  OutputPlugin,
  PluginDescriptor,
  WriteResult,
} from '../../../core/plugin.ts';
import {
  assertInside,
  baseDirOf,
  escapePathValue,
  pathTemplate,
} from '../../../shared/file-out/path-template.ts';
import { formatChunk } from '../../../shared/parse/format-chunk.ts';
import { INJECT_SECTION, withInject } from '../../../shared/parse/inject.ts';
import { compileStrftime } from '../../../time/time-format.ts';
import { UTC, type Zone } from '../../../time/time-zone.ts';
import { writeChunk } from './writer.ts';

const params = defineParams({
  path: {
    type: 'string',
    required: true,
    description:
      "Path of the output files; '*' and strftime/${tag}/${key} placeholders are resolved per chunk.",
  },
  add_path_suffix: { type: 'bool', default: true, description: 'Add path_suffix to a path without a `*`.' },
  path_suffix: { type: 'string', default: '.log', description: 'Suffix added to a bare path.' },
  append: {
    type: 'bool',
    default: false,
    description: 'Append every chunk to one file per path instead of a new _N file per chunk.',
  },
  compress: {
    type: 'enum',
    values: ['text', 'gz', 'gzip'],
    default: 'text',
    description: 'gzip: each chunk is written as a gzip member (files end in .gz).',
  },
  recompress: {
    type: 'bool',
    default: false,
    description:
      'Accepted for compatibility (Sluice buffers are never compressed, so chunks are always compressed here).',
  },
  symlink_path: {
    type: 'string',
    default: null,
    description:
      'A symlink kept pointing at the latest written file (Fluentd points it at the buffer chunk; see docs/buffer.md).',
  },
  rotate_size: {
    type: 'size',
    default: null,
    description:
      'Sluice extension (needs append true): when a file would grow past this size it is renamed to .1 (older ones shift) before writing.',
  },
  rotate_backups: {
    type: 'integer',
    default: 5,
    description: 'Sluice extension: rotated files kept (.1 ... .N) with rotate_size.',
  },
  dir_permission: { type: 'string', default: '0755', description: 'Mode of created directories (octal).' },
  file_permission: { type: 'string', default: '0644', description: 'Mode of created files (octal).' },
});

/** Fluentd's out_file format: `<time ISO8601 local>\t<tag>\t<json>\n`. */
function defaultFormatter(): FormatterPlugin {
  const fmt = compileStrftime('%Y-%m-%dT%H:%M:%S%:z');
  return {
    format: (tag: string, time: EventTime, record: EventRecord) =>
      `${fmt(time)}\t${tag}\t${recordJson(record)}\n`,
  };
}

const schema = defineSchema({
  params,
  sections: {
    format: {
      plugin: 'formatter',
      description: 'How each event is written (default out_file: time, tag and JSON separated by tabs).',
    },
    inject: INJECT_SECTION,
  },
});

const descriptor: PluginDescriptor<OutputPlugin, typeof schema> = {
  kind: 'output',
  type: 'file',
  description:
    'Writes events to files, Fluentd out_file compatible (time-sliced paths, append, gzip), plus size rotation.',
  schema,
  buffered: 'always',
  bufferDefaults: {
    type: 'file',
    chunkKeys: ['time'],
    timekey: 86400,
    // As Fluentd's out_file: with no <buffer> path and no root_dir, the chunks go to the
    // output's path read as a buffer path (app.*.log -> app.b<id>.log beside the files).
    path: (output) => param(output, 'path')?.value,
  },
  create(config, ctx) {
    const p = config.params;
    const el = config.element;
    const where = el.params.find((x) => x.key === 'path')?.location ?? el.location;
    if (p.rotate_size !== undefined && !p.append)
      throw new ConfigError(
        'out_file: rotate_size needs append true (without append every chunk gets its own file)',
        where,
      );
    if (p.path.includes('\0')) throw new ConfigError('out_file: path contains a NUL byte', where);
    const gz = p.compress !== 'text';
    // The path template depends on the timekey: set once the buffer engine hands its settings.
    let template: string | undefined;
    let zone: Zone = UTC;
    const base = baseDirOf(p.path);
    const formatEl = config.sections.format?.element;
    const formatter = withInject(
      formatEl ? ctx.createNested<FormatterPlugin>('formatter', formatEl, 'out_file') : defaultFormatter(),
      config.sections.inject,
      ctx,
    );
    const writerOpts = {
      append: p.append,
      gzip: gz,
      rotateSize: p.rotate_size,
      rotateBackups: p.rotate_backups,
      symlinkPath: p.symlink_path,
      dirMode: Number.parseInt(p.dir_permission, 8),
      fileMode: Number.parseInt(p.file_permission, 8),
    };
    // Chunks for one path are written one after another (appends and rotation must not interleave).
    const tails = new Map<string, Promise<unknown>>();
    return {
      useBuffer(buffer: BufferConfig) {
        const timekey = buffer.keys.time ? buffer.timekey : undefined;
        template = pathTemplate(
          p.path,
          { timekey, append: p.append, gzip: gz, suffix: p.add_path_suffix ? p.path_suffix : '' },
          where,
        );
        checkPlaceholders('path', template.replace('_**', ''), buffer.keys, where);
        zone = buffer.zone;
      },
      async write(chunk: Chunk): Promise<WriteResult> {
        if (template === undefined)
          return {
            status: 'fatal',
            error: internalError('out_file: written to before its buffer was set up'),
          };
        let path: string;
        try {
          path = assertInside(
            base,
            expandPlaceholders(template, chunk.keys, { zone, escape: escapePathValue }),
          );
        } catch (e) {
          return { status: 'fatal', error: e as Error };
        }
        const data = formatChunk(formatter, chunk);
        const prev = tails.get(path) ?? Promise.resolve();
        const run = prev.then(() => writeChunk(path, data, writerOpts));
        const settled = run.then(
          () => undefined,
          () => undefined,
        );
        tails.set(path, settled);
        void settled.then(() => {
          if (tails.get(path) === settled) tails.delete(path);
        });
        try {
          await run;
          return { status: 'ok' };
        } catch (e) {
          return { status: 'retry', error: e as Error };
        }
      },
    };
  },
};

export default descriptor;
