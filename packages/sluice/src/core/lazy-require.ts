import { createRequire } from 'node:module';
import type FastGlob from 'fast-glob';
import type Iconv from 'iconv-lite';
import type PinoPretty from 'pino-pretty';
import type * as Yaml from 'yaml';

const require = createRequire(import.meta.url);

/**
 * A dependency loaded on its first use instead of at start. For packages that only some
 * configurations need and that cost tens of milliseconds to load (yaml 40, pino-pretty 60,
 * fast-glob 57, iconv-lite 23 on our 2-core machine, against a start of about 440 ms):
 * a worker, a sidecar or a restarted agent is up sooner without them. They are CommonJS
 * (or ship a CommonJS build), so a synchronous require keeps the callers synchronous.
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
/** in_tail paths with wildcards */
export const fastGlob = lazyRequire<typeof FastGlob>('fast-glob');
/** in_tail from_encoding */
export const iconvLite = lazyRequire<typeof Iconv>('iconv-lite');
