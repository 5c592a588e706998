import type { EventTime } from '@sluice/forward';
import { parseChunkKeys } from '../../../buffer/params.ts';
import { type ConfigElement, param } from '../../../config/ast.ts';
import { defineParams, type Resolved } from '../../../config/schema.ts';
import { parseBool, parseTime } from '../../../config/values.ts';
import type { EventRecord } from '../../../core/batch.ts';
import { ConfigError, type SourceLocation } from '../../../core/errors.ts';
import { recordJson } from '../../../codec/json.ts';
import { checkPlaceholders, expandPlaceholders } from '../../../core/placeholders.ts';
import type {
  Chunk,
  FormatterPlugin,
  OutputPlugin,
  PluginDescriptor,
  WriteResult,
} from '../../../core/plugin.ts';
import { compileStrftime } from '../../../time/time-format.ts';
import { parseZone, UTC, type Zone } from '../../../time/time-zone.ts';
import { assertInside, baseDirOf, escapePathValue, pathTemplate } from '../../../shared/file-out/path-template.ts';
import { writeChunk } from './writer.ts';
import { INJECT_SECTION, withInject } from '../../../shared/parse/inject.ts';

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

const descriptor: PluginDescriptor<OutputPlugin> & {
  defaultBufferType: string;
  defaultBufferPath: (output: ConfigElement) => string | undefined;
} = {
  kind: 'output',
  type: 'file',
  description:
    'Writes events to files, Fluentd out_file compatible (time-sliced paths, append, gzip), plus size rotation.',
  schema: {
    params,
    sections: {
      format: {
        plugin: 'formatter',
        description: 'How each event is written (default out_file: time, tag and JSON separated by tabs).',
      },
      inject: INJECT_SECTION,
    },
  },
  buffered: 'always',
  defaultChunkKeys: ['time'],
  defaultBufferType: 'file',
  // As Fluentd's out_file: with no <buffer> path and no root_dir, the chunks go to the
  // output's path read as a buffer path (app.*.log -> app.b<id>.log beside the files).
  defaultBufferPath: (output) => param(output, 'path')?.value,
  create(config, ctx) {
    const p = config.params as {
      path: string;
      add_path_suffix: boolean;
      path_suffix: string;
      append: boolean;
      compress: string;
      symlink_path?: string;
      rotate_size?: number;
      rotate_backups: number;
      dir_permission: string;
      file_permission: string;
    };
    const el = config.element;
    const where = el.params.find((x) => x.key === 'path')?.location ?? el.location;
    const bufferEl = el.elements.find((e) => e.name === 'buffer');
    const keys = parseChunkKeys(bufferEl, ['time']);
    const timekeyParam = bufferEl?.params.findLast((x) => x.key === 'timekey')?.value;
    const timekey = keys.time ? (timekeyParam ? parseTimekey(timekeyParam, where) : 86400) : undefined;
    if (p.rotate_size !== undefined && !p.append)
      throw new ConfigError(
        'out_file: rotate_size needs append true (without append every chunk gets its own file)',
        where,
      );
    if (p.path.includes('\0')) throw new ConfigError('out_file: path contains a NUL byte', where);
    const gz = p.compress !== 'text';
    const template = pathTemplate(
      p.path,
      { timekey, append: p.append, gzip: gz, suffix: p.add_path_suffix ? p.path_suffix : '' },
      where,
    );
    checkPlaceholders('path', template.replace('_**', ''), keys, where);
    const base = baseDirOf(p.path);
    const zone = timekeyZone(bufferEl, where);
    const formatEl = el.elements.find((e) => e.name === 'format');
    const formatter = withInject(
      formatEl ? ctx.createNested<FormatterPlugin>('formatter', formatEl, 'out_file') : defaultFormatter(),
      config.sections.inject as Resolved | undefined,
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
      async write(chunk: Chunk): Promise<WriteResult> {
        let path: string;
        try {
          path = assertInside(
            base,
            expandPlaceholders(template, chunk.keys, { zone, escape: escapePathValue }),
          );
        } catch (e) {
          return { status: 'fatal', error: e as Error };
        }
        // The buffer keeps one tag per chunk even when tag is not a chunk key.
        const tag = chunk.keys.tag ?? '';
        const parts: (Buffer | string)[] = [];
        for (const e of chunk.entries()) parts.push(formatter.format(tag, e.time, e.record));
        const data = Buffer.concat(parts.map((x) => (typeof x === 'string' ? Buffer.from(x) : x)));
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

function parseTimekey(v: string, where: SourceLocation): number {
  const t = parseTime(v);
  if (t === undefined) throw new ConfigError(`invalid timekey ${JSON.stringify(v)}`, where);
  return t;
}

/** The zone the buffer formats timekeys in (params.ts toBufferConfig reads the same two parameters). */
function timekeyZone(bufferEl: ConfigElement | undefined, where: SourceLocation): Zone {
  const param = (k: string) => bufferEl?.params.findLast((x) => x.key === k)?.value;
  const utc = param('timekey_use_utc');
  if (utc !== undefined && parseBool(utc)) return UTC;
  try {
    return parseZone(param('timekey_zone') ?? 'localtime');
  } catch (e) {
    throw new ConfigError(`timekey_zone: ${(e as Error).message}`, where);
  }
}

export default descriptor;
