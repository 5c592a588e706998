import type { ConfigElement, ConfigParam } from '../../../config/ast.ts';
import { defineParams, defineSchema, type Resolved } from '../../../config/schema.ts';
import { ConfigError } from '../../../core/errors.ts';
import { iconvLite } from '../../../core/lazy-require.ts';
import { checkTimezone } from './paths.ts';

const FORMAT_N: Record<string, { type: 'string'; description: string; default: null }> = {};
for (let i = 1; i <= 20; i++) {
  FORMAT_N[`format${i}`] = {
    type: 'string',
    description: `legacy spelling: moved into <parse> as format${i} (multiline)`,
    default: null,
  };
}

/** Fluentd v1 in_tail parameters, with Fluentd's defaults. */
export const tailParams = defineParams({
  path: {
    type: 'string',
    required: true,
    description:
      'Paths to read, separated by path_delimiter; globs (`*`, `**`, `?`, `{a,b}`) and strftime placeholders (`%Y%m%d`) are expanded.',
  },
  path_delimiter: { type: 'string', default: ',', description: 'Separator of the paths in `path`.' },
  tag: {
    type: 'string',
    required: true,
    description:
      'Tag of the events. A `*` is replaced by the file path with `/` turned into `.` (e.g. `app.*` -> `app.var.log.x.log`).',
  },
  exclude_path: {
    type: 'array',
    default: [],
    description: 'Paths (globs allowed) never to read, even when `path` matches them.',
  },
  rotate_wait: {
    type: 'time',
    default: 5,
    description:
      'How long a rotated (renamed or deleted) file stays open and is read to its end before it is let go.',
  },
  pos_file: {
    type: 'string',
    default: null,
    description:
      "File that records how far each file was read (Fluentd's format). Positions are written only after the outputs accepted the lines.",
  },
  pos_file_compaction_interval: {
    type: 'time',
    default: null,
    description: 'Interval at which the pos file is rewritten without entries of files no longer watched.',
  },
  read_from_head: {
    type: 'bool',
    default: false,
    description:
      'Files found at startup with no saved position are read from their start instead of their end.',
  },
  refresh_interval: {
    type: 'time',
    default: 60,
    description:
      'Interval at which globs are expanded again to find new files (new files are also noticed at once through directory watches).',
  },
  read_lines_limit: { type: 'integer', default: 1000, description: 'Most lines in one emitted batch.' },
  read_bytes_limit_per_second: {
    type: 'size',
    default: null,
    description:
      'Most bytes read per second from one file (unlimited when unset). Fluentd requires at least 8192.',
  },
  max_line_size: {
    type: 'size',
    default: null,
    description: 'Lines longer than this (in bytes) are skipped with a warning.',
  },
  multiline_flush_interval: {
    type: 'time',
    default: null,
    description: 'With a multiline parser: emit a pending event after this long without a new line.',
  },
  emit_unmatched_lines: {
    type: 'bool',
    default: false,
    description:
      'Lines the parser does not match are emitted as `{"unmatched_line": line}` instead of going to @ERROR.',
  },
  enable_watch_timer: {
    type: 'bool',
    default: true,
    description:
      'Check every watched file once a second (catches changes a watch misses, e.g. on network file systems).',
  },
  enable_stat_watcher: {
    type: 'bool',
    default: true,
    description: 'Watch files and directories with inotify (fs.watch) to read new lines at once.',
  },
  encoding: {
    type: 'string',
    default: null,
    description: 'Encoding of the emitted strings (e.g. UTF-8). Alone, it names the encoding the file is in.',
  },
  from_encoding: {
    type: 'string',
    default: null,
    description: 'Encoding the file is written in; lines are converted to `encoding`.',
  },
  path_key: {
    type: 'string',
    default: null,
    description: 'Record key that receives the path of the file the line came from.',
  },
  open_on_every_update: {
    type: 'bool',
    default: false,
    description:
      'Open and close the file at every read instead of keeping it open (lets other programs delete it on Windows-like systems).',
  },
  limit_recently_modified: {
    type: 'time',
    default: null,
    description: 'Only watch files matched by a glob that were modified within this long.',
  },
  skip_refresh_on_startup: {
    type: 'bool',
    default: false,
    description: 'Do not expand the paths at startup; wait for the first refresh_interval.',
  },
  ignore_repeated_permission_error: {
    type: 'bool',
    default: false,
    description: 'Log an unreadable file once instead of at every refresh.',
  },
  path_timezone: {
    type: 'string',
    default: null,
    description:
      'Time zone for strftime placeholders in `path` (`UTC`, `+09:00`, `Asia/Tokyo`); local time when unset.',
  },
  follow_inodes: {
    type: 'bool',
    default: false,
    description:
      'Track files by inode instead of by name: a rotated file matched by the glob again is not read twice. Requires pos_file.',
  },
  format: { type: 'string', default: null, description: 'Legacy spelling of `<parse> @type` (v0.12).' },
  format_firstline: {
    type: 'string',
    default: null,
    description: 'Legacy spelling: moved into <parse> (multiline).',
  },
  time_format: { type: 'string', default: null, description: 'Legacy spelling: moved into <parse>.' },
  time_key: { type: 'string', default: null, description: 'Legacy spelling: moved into <parse>.' },
  keep_time_key: { type: 'string', default: null, description: 'Legacy spelling: moved into <parse>.' },
  ...FORMAT_N,
});

export const tailSchema = defineSchema({
  params: tailParams,
  sections: {
    parse: {
      description: 'How lines become records (a parser plugin; `none` keeps the line as `message`).',
      plugin: 'parser',
    },
  },
});

type TailConfig = Resolved<typeof tailSchema>;

const LEGACY_PARSE_KEYS = [
  'format_firstline',
  'time_format',
  'time_key',
  'keep_time_key',
  ...Object.keys(FORMAT_N),
];

export interface TailOptions {
  paths: string[];
  excludePaths: string[];
  tag: string;
  /** set when the tag has a `*`: tag = prefix + path-as-tag + suffix */
  tagPrefix?: string;
  tagSuffix?: string;
  rotateWaitMs: number;
  posFile?: string;
  compactionIntervalMs?: number;
  readFromHead: boolean;
  refreshIntervalMs: number;
  readLinesLimit: number;
  readBytesLimitPerSecond?: number;
  maxLineSize?: number;
  multilineFlushIntervalMs?: number;
  emitUnmatchedLines: boolean;
  enableWatchTimer: boolean;
  enableStatWatcher: boolean;
  /** bytes of the file are decoded from this (iconv-lite name), when set */
  fromEncoding?: string;
  /** emitted strings are encoded in this, when it is not UTF-8 */
  toEncoding?: string;
  pathKey?: string;
  openOnEveryUpdate: boolean;
  limitRecentlyModifiedMs?: number;
  skipRefreshOnStartup: boolean;
  ignoreRepeatedPermissionError: boolean;
  pathTimezone?: string;
  followInodes: boolean;
  /** the `<parse>` element (synthesised from legacy `format` params when needed) */
  parse: ConfigElement;
}

function checkEncoding(name: string, where: ConfigElement): string {
  if (!iconvLite().encodingExists(name)) throw new ConfigError(`unknown encoding '${name}'`, where.location);
  return name;
}

const isUtf8 = (e: string) => /^utf-?8$/i.test(e);

export function tailOptions(config: TailConfig): TailOptions {
  const p = config.params;
  const el = config.element;
  const fail = (msg: string): never => {
    throw new ConfigError(msg, el.location);
  };
  const delim = p.path_delimiter;
  if (['/', '*', '%'].includes(delim)) fail(`path_delimiter may not be one of /, *, % (got '${delim}')`);
  const paths = [
    ...new Set(
      p.path
        .split(delim)
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  if (paths.length === 0) fail("tail: 'path' parameter is required");
  if (!p.enable_watch_timer && !p.enable_stat_watcher)
    fail('either enable_watch_timer or enable_stat_watcher must be true');
  if (p.follow_inodes && !p.pos_file)
    fail("follow_inodes needs pos_file (can't follow inodes without remembering them)");
  const rl = p.read_lines_limit;
  if (rl < 1) fail('read_lines_limit must be at least 1');
  const rb = p.read_bytes_limit_per_second;
  if (rb !== undefined && rb < 8192)
    fail('read_bytes_limit_per_second must be at least 8192 (as in Fluentd)');
  if (p.from_encoding && !p.encoding) fail("'from_encoding' needs 'encoding' too");
  let fromEncoding = p.from_encoding ?? p.encoding;
  let toEncoding = p.encoding;
  if (fromEncoding) checkEncoding(fromEncoding, el);
  if (toEncoding) checkEncoding(toEncoding, el);
  if (fromEncoding && isUtf8(fromEncoding)) fromEncoding = undefined;
  if (toEncoding && isUtf8(toEncoding)) toEncoding = undefined;
  if (p.path_timezone) checkTimezone(p.path_timezone, el.location);

  const tag = p.tag;
  let tagPrefix: string | undefined;
  let tagSuffix: string | undefined;
  const star = tag.indexOf('*');
  if (star >= 0) {
    tagPrefix = tag.slice(0, star);
    const rest = tag.slice(star + 1);
    const next = rest.indexOf('*');
    tagSuffix = next >= 0 ? rest.slice(0, next) : rest;
  }

  const parse = parseElement(config, p);
  const sec = (v: number | undefined) => (v === undefined ? undefined : Math.round(v * 1000));
  return {
    paths,
    excludePaths: p.exclude_path,
    tag,
    tagPrefix,
    tagSuffix,
    rotateWaitMs: sec(p.rotate_wait)!,
    posFile: p.pos_file,
    compactionIntervalMs: sec(p.pos_file_compaction_interval),
    readFromHead: p.read_from_head,
    refreshIntervalMs: Math.max(100, sec(p.refresh_interval)!),
    readLinesLimit: rl,
    readBytesLimitPerSecond: rb,
    maxLineSize: p.max_line_size,
    multilineFlushIntervalMs: sec(p.multiline_flush_interval),
    emitUnmatchedLines: p.emit_unmatched_lines,
    enableWatchTimer: p.enable_watch_timer,
    enableStatWatcher: p.enable_stat_watcher,
    fromEncoding,
    toEncoding,
    pathKey: p.path_key,
    openOnEveryUpdate: p.open_on_every_update,
    limitRecentlyModifiedMs: sec(p.limit_recently_modified),
    skipRefreshOnStartup: p.skip_refresh_on_startup,
    ignoreRepeatedPermissionError: p.ignore_repeated_permission_error,
    pathTimezone: p.path_timezone,
    followInodes: p.follow_inodes,
    parse,
  };
}

/** The `<parse>` element, or one built from v0.12 `format ...` params on the source. */
function parseElement(config: TailConfig, p: TailConfig['params']): ConfigElement {
  const el = config.element;
  const section = config.sections.parse;
  const legacy: ConfigParam[] = el.params.filter((x) => LEGACY_PARSE_KEYS.includes(x.key));
  if (section) {
    if (p.format)
      throw new ConfigError("give the parser either as <parse> or as 'format', not both", el.location);
    if (legacy.length === 0) return section.element;
    // Fluentd copies format1..N from the source into <parse>; keep that.
    return { ...section.element, params: [...section.element.params, ...legacy] };
  }
  if (!p.format)
    throw new ConfigError('<parse> section is required (e.g. <parse> @type none </parse>)', el.location);
  const formatParam = el.params.findLast((x) => x.key === 'format')!;
  let type = p.format;
  const params: ConfigParam[] = [];
  // v0.12 `format /regex/` means a regexp parser with that expression.
  if (type.startsWith('/') && type.lastIndexOf('/') > 0) {
    params.push({ key: 'expression', value: type, location: formatParam.location });
    type = 'regexp';
  }
  params.push({ key: '@type', value: type, location: formatParam.location }, ...legacy);
  return { name: 'parse', arg: '', params, elements: [], location: el.location };
}
