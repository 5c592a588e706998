// The <buffer> section: Fluentd v1's common buffer parameters (lib/fluent/plugin/output.rb
// and buffer.rb), validated once here; backend parameters come from the buffer plugin's
// own schema (plugins/buffer/<type>.ts).
import type { ConfigElement } from '../config/ast.ts';
import { defineParams, type ParamsOf } from '../config/schema.ts';
import type { BufferConfig, BufferDefaults } from '../core/buffer-config.ts';
import { ConfigError } from '../core/errors.ts';
import type { ChunkKeySpec } from '../core/placeholders.ts';
import { parseZone, UTC, type Zone } from '../time/time-zone.ts';

export const COMMON_BUFFER_PARAMS = defineParams({
  chunk_limit_size: {
    type: 'size',
    default: null,
    description: 'Maximum bytes of one chunk (memory: 8MB, file: 256MB).',
  },
  chunk_limit_records: { type: 'integer', default: null, description: 'Maximum events in one chunk.' },
  total_limit_size: {
    type: 'size',
    default: null,
    description:
      'Maximum bytes of all staged and queued chunks (memory: 512MB, file: 64GB); beyond it overflow_action applies.',
  },
  queue_limit_length: {
    type: 'integer',
    default: null,
    description:
      'Maximum queued chunks (deprecated in Fluentd; counted into total_limit_size as queue_limit_length x chunk_limit_size when total_limit_size is not set).',
  },
  queued_chunks_limit_size: {
    type: 'integer',
    default: null,
    description: 'Accepted for compatibility; Sluice enqueues without this cap.',
    deprecated: 'not used by Sluice',
  },
  chunk_full_threshold: {
    type: 'float',
    default: 0.95,
    description: 'A chunk this full (ratio of chunk_limit_size or chunk_limit_records) is enqueued.',
  },
  compress: {
    type: 'enum',
    values: ['text', 'gzip'],
    default: 'text',
    description: 'text; gzip is refused with an error until it is built.',
  },
  flush_at_shutdown: {
    type: 'bool',
    default: null,
    description: 'Flush every chunk at shutdown (default: true for memory, false for file).',
  },
  flush_mode: {
    type: 'enum',
    values: ['default', 'lazy', 'interval', 'immediate'],
    default: 'default',
    description: 'default = lazy with a time chunk key, interval otherwise.',
  },
  flush_interval: {
    type: 'time',
    default: 60,
    description: 'interval mode: a chunk is enqueued this long after it was created.',
  },
  flush_when_caught_up: {
    type: 'bool',
    default: false,
    description:
      'Sluice only, flush_mode interval: when the input filling a chunk has worked through a backlog and read all there is (in_tail at the end of its file), the staged chunk is sent at once instead of after flush_interval. A trickle of new lines still waits for flush_interval.',
  },
  flush_thread_count: { type: 'integer', default: 1, description: 'Number of chunks written concurrently.' },
  flush_thread_interval: {
    type: 'time',
    default: 1,
    description: 'Accepted for compatibility: Sluice wakes flushes by events, not by polling.',
  },
  flush_thread_burst_interval: {
    type: 'time',
    default: 1,
    description: 'Accepted for compatibility: Sluice starts the next queued chunk at once.',
  },
  delayed_commit_timeout: {
    type: 'time',
    default: 60,
    description: 'A write() not settled after this long counts as failed and is retried.',
  },
  overflow_action: {
    type: 'enum',
    values: ['throw_exception', 'block', 'drop_oldest_chunk'],
    default: 'throw_exception',
    description: 'What emit does when total_limit_size is reached.',
  },
  retry_type: {
    type: 'enum',
    values: ['exponential_backoff', 'periodic'],
    default: 'exponential_backoff',
    description: 'Retry schedule.',
  },
  retry_wait: {
    type: 'time',
    default: 1,
    description: 'Seconds before the first retry (and the period, for periodic).',
  },
  retry_exponential_backoff_base: {
    type: 'float',
    default: 2,
    description: 'Base of the exponential backoff.',
  },
  retry_max_interval: { type: 'time', default: null, description: 'Cap of one backoff interval.' },
  retry_randomize: { type: 'bool', default: true, description: 'Randomize intervals by +-12.5%.' },
  retry_timeout: {
    type: 'time',
    default: 72 * 3600,
    description: 'Give up retrying this long after the first failure.',
  },
  retry_max_times: { type: 'integer', default: null, description: 'Give up after this many retries.' },
  retry_forever: {
    type: 'bool',
    default: false,
    description: 'Never give up (retry_timeout and retry_max_times are ignored).',
  },
  retry_secondary_threshold: {
    type: 'float',
    default: 0.8,
    description: 'Ratio of the retry time after which chunks go to <secondary>.',
  },
  disable_chunk_backup: {
    type: 'bool',
    default: false,
    description: 'Drop, instead of backing up, chunks that cannot be delivered.',
  },
  timekey: {
    type: 'time',
    default: null,
    description: 'Width of a time chunk (required with the time chunk key).',
  },
  timekey_wait: {
    type: 'time',
    default: 600,
    description: 'Seconds to wait after a timekey ends before flushing its chunk.',
  },
  timekey_use_utc: {
    type: 'bool',
    default: false,
    description: 'Align timekeys and format time placeholders in UTC.',
  },
  timekey_zone: {
    type: 'string',
    default: null,
    description: 'Zone of timekeys and time placeholders (+09:00 or an IANA name); local by default.',
  },
});

export type { BufferConfig } from '../core/buffer-config.ts';

export interface BackendDefaults {
  chunkLimitSize: number;
  totalLimitSize: number;
  flushAtShutdown: boolean;
}

const RECORD_KEY = /^[-_.@a-zA-Z0-9]+$|^\$[.[]/;

/** Parses `<buffer tag, time, key>`; an empty argument takes the output's defaults. */
export function parseChunkKeys(
  el: ConfigElement | undefined,
  defaults: readonly string[] | undefined,
): ChunkKeySpec {
  const arg = el?.arg.trim() ?? '';
  const list =
    arg === ''
      ? [...(defaults ?? [])]
      : arg
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
  const spec: ChunkKeySpec = { tag: false, time: false, keys: [] };
  for (const k of list) {
    if (k === 'tag') spec.tag = true;
    else if (k === 'time') spec.time = true;
    else if (RECORD_KEY.test(k)) {
      if (!spec.keys.includes(k)) spec.keys.push(k);
    } else throw new ConfigError(`invalid chunk key '${k}' in <buffer ${arg}>`, el?.location);
  }
  return spec;
}

/**
 * The element the buffer engine resolves: the output's <buffer> (or an empty one) with the
 * parameters the output defaults differently added where the section does not set them.
 */
export function withDefaultParams(
  el: ConfigElement | undefined,
  params: BufferDefaults['params'],
): ConfigElement {
  const element: ConfigElement = el ?? {
    name: 'buffer',
    arg: '',
    params: [],
    elements: [],
    location: { file: '<default>', line: 0, column: 0 },
  };
  const own = Object.entries(params ?? {}).filter(([k]) => !element.params.some((p) => p.key === k));
  if (own.length === 0) return element;
  return {
    ...element,
    params: [...own.map(([key, value]) => ({ key, value, location: element.location })), ...element.params],
  };
}

/**
 * The resolved <buffer>: the section's chunk keys (the output's default ones when it has no
 * argument, with their timekey), its common parameters and the backend's defaults.
 */
export function bufferConfigOf(
  type: string,
  params: CommonBufferParams,
  el: ConfigElement | undefined,
  defaults: BufferDefaults,
  backend: BackendDefaults,
): BufferConfig {
  const keys = parseChunkKeys(el, defaults.chunkKeys);
  const useDefaults = (el?.arg.trim() ?? '') === '';
  return toBufferConfig(
    type,
    params,
    el,
    keys,
    backend,
    useDefaults ? (defaults.timekey ?? 86400) : undefined,
  );
}

/** The common <buffer> parameters as resolved (the backend's own are read by the buffer plugin). */
export type CommonBufferParams = ParamsOf<typeof COMMON_BUFFER_PARAMS>;

export function toBufferConfig(
  type: string,
  p: CommonBufferParams,
  el: ConfigElement | undefined,
  keys: ChunkKeySpec,
  backend: BackendDefaults,
  /** the timekey when the output's default chunk keys are used and include time */
  defaultTimekey: number | undefined,
): BufferConfig {
  const where = el?.location;
  let timekey = p.timekey;
  if (keys.time && timekey === undefined) {
    // Fluentd's out_file defaults timekey to 1d along with its default `time` chunk key.
    if (defaultTimekey !== undefined) timekey = defaultTimekey;
    else throw new ConfigError("<buffer> chunk keys include 'time' but 'timekey' is not set", where);
  }
  if (timekey !== undefined && timekey < 1) throw new ConfigError("'timekey' must be at least 1s", where);
  const threshold = p.chunk_full_threshold;
  if (!(threshold > 0 && threshold <= 1))
    throw new ConfigError("'chunk_full_threshold' must be in (0, 1]", where);
  const sec = p.retry_secondary_threshold;
  if (!(sec > 0 && sec < 1))
    throw new ConfigError("'retry_secondary_threshold' must be between 0 and 1 (exclusive)", where);
  if (p.flush_thread_count < 1) throw new ConfigError("'flush_thread_count' must be at least 1", where);
  if (p.compress === 'gzip') {
    throw new ConfigError(
      "<buffer> 'compress gzip' is not built in Sluice yet; use 'compress text' (out_file's own 'compress gzip' works)",
      where,
    );
  }
  const mode = p.flush_mode === 'default' ? (keys.time ? 'lazy' : 'interval') : p.flush_mode;
  if (p.flush_when_caught_up && mode !== 'interval')
    throw new ConfigError(
      `'flush_when_caught_up' needs flush_mode interval (this buffer's is ${mode})`,
      where,
    );
  let zone: Zone;
  try {
    zone = p.timekey_use_utc ? UTC : parseZone(p.timekey_zone ?? 'localtime');
  } catch (e) {
    throw new ConfigError((e as Error).message, where);
  }
  const chunkLimitSize = p.chunk_limit_size ?? backend.chunkLimitSize;
  let totalLimitSize = p.total_limit_size;
  const qll = p.queue_limit_length;
  if (totalLimitSize === undefined && qll !== undefined) totalLimitSize = qll * chunkLimitSize;
  totalLimitSize ??= backend.totalLimitSize;
  if (chunkLimitSize > totalLimitSize)
    throw new ConfigError("'chunk_limit_size' is larger than 'total_limit_size'", where);
  return {
    type,
    chunkLimitSize,
    chunkLimitRecords: p.chunk_limit_records,
    totalLimitSize,
    chunkFullThreshold: threshold,
    flushAtShutdown: p.flush_at_shutdown ?? backend.flushAtShutdown,
    flushMode: mode,
    flushInterval: p.flush_interval,
    flushWhenCaughtUp: p.flush_when_caught_up,
    flushThreadCount: p.flush_thread_count,
    delayedCommitTimeout: p.delayed_commit_timeout,
    overflowAction: p.overflow_action,
    retryType: p.retry_type,
    retryWait: p.retry_wait,
    retryBase: p.retry_exponential_backoff_base,
    retryMaxInterval: p.retry_max_interval,
    retryRandomize: p.retry_randomize,
    retryTimeout: p.retry_timeout,
    retryMaxTimes: p.retry_max_times,
    retryForever: p.retry_forever,
    retrySecondaryThreshold: sec,
    disableChunkBackup: p.disable_chunk_backup,
    keys,
    timekey,
    timekeyWait: p.timekey_wait,
    zone,
  };
}
