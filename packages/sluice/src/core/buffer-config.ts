// The resolved <buffer> of an output, as the buffer engine (buffer/params.ts) builds it from
// the section, the output's declared defaults and the buffer plugin's. It lives in core/ so
// that an output can be handed it (OutputPlugin.useBuffer) without importing the buffer engine.
import type { ConfigElement } from '../config/ast.ts';
import type { Zone } from '../time/time-zone.ts';

/** What a buffer is keyed by: `<buffer tag, time, key1, ...>`. */
export interface ChunkKeySpec {
  tag: boolean;
  time: boolean;
  keys: string[];
}

export interface BufferConfig {
  type: string;
  chunkLimitSize: number;
  chunkLimitRecords: number | undefined;
  totalLimitSize: number;
  chunkFullThreshold: number;
  flushAtShutdown: boolean;
  flushMode: 'lazy' | 'interval' | 'immediate';
  flushInterval: number;
  flushWhenCaughtUp: boolean;
  flushThreadCount: number;
  delayedCommitTimeout: number;
  overflowAction: 'throw_exception' | 'block' | 'drop_oldest_chunk';
  retryType: 'exponential_backoff' | 'periodic';
  retryWait: number;
  retryBase: number;
  retryMaxInterval: number | undefined;
  retryRandomize: boolean;
  retryTimeout: number;
  retryMaxTimes: number | undefined;
  retryForever: boolean;
  retrySecondaryThreshold: number;
  disableChunkBackup: boolean;
  keys: ChunkKeySpec;
  timekey: number | undefined;
  timekeyWait: number;
  zone: Zone;
}

/**
 * The <buffer> an output gets where the config leaves something out, as a Fluentd output
 * declares with `config_section :buffer do config_set_default ... end` (out_file: type
 * file, chunk keys time, timekey 1d). The buffer engine reads it; outputs never parse
 * <buffer> themselves.
 */
export interface BufferDefaults {
  /** buffer plugin when <buffer> has no @type (else memory) */
  type?: string;
  /** chunk keys when <buffer> has no argument */
  chunkKeys?: readonly string[];
  /** timekey when the default chunk keys include time and none is set (else 1d) */
  timekey?: number;
  /** other <buffer> parameters this output defaults differently, written as in a config */
  params?: Readonly<Record<string, string>>;
  /**
   * A file buffer with no path and no <system> root_dir: where its chunks go, from the
   * output's element (out_file keeps them beside its output files, as Fluentd does).
   */
  path?(output: ConfigElement): string | undefined;
}
