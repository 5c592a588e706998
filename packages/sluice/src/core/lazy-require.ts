import { createRequire } from 'node:module';
import type FastGlob from 'fast-glob';
import type Iconv from 'iconv-lite';
import type PinoPretty from 'pino-pretty';
import type * as Yaml from 'yaml';

const require = createRequire(import.meta.url);

/**
 * A dependency loaded on its first use instead of at start. For packages that only some
 * configurations need and that take a noticeable part of the start-up to load (the load times are in
 * bench/RESULTS.md, next to the lazy-loading change): a worker, a sidecar or a restarted agent is up sooner
 * without them. They are CommonJS (or ship a CommonJS build), so a synchronous require
 * keeps the callers synchronous.
 */
export function lazyRequire<T>(id: string): () => T {
  let mod: T | undefined;
  return () => {
    mod ??= require(id) as T;
    return mod;
  };
}

/** YAML configs (config/yaml.ts) */
export const yamlLib = lazyRequire<typeof Yaml>('yaml');
/** human-readable logs on a terminal */
export const pinoPretty = lazyRequire<typeof PinoPretty>('pino-pretty');
/** in_tail paths and @include patterns with wildcards */
export const fastGlob = lazyRequire<typeof FastGlob>('fast-glob');
/** in_tail from_encoding */
export const iconvLite = lazyRequire<typeof Iconv>('iconv-lite');
