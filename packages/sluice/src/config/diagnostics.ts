// What a parameter or section no plugin knows does to a config. Fluentd warns ("parameter
// 'x' in <match> is not used.") and runs, so working configs with a typo or a parameter of
// another plugin version keep running; `--strict` makes it an error. Outside an engine
// build (unit tests, embedding) it is an error, which is what a test of a schema wants.
//
// The policy reaches config/schema.ts's resolve() through AsyncLocalStorage rather than a
// parameter: resolve() is called from a dozen places (engine, outputs, buffers, nested
// parsers built synchronously by plugins) that would all have to pass it along, and
// only config time reads it, never the event path.
import { AsyncLocalStorage } from 'node:async_hooks';
import { type ConfigError, type ErrorCode, withCode } from '../core/errors.ts';

export interface ConfigPolicy {
  /** unknown parameters and sections are errors */
  strict: boolean;
  /** told about each unknown parameter or section (or other leniency) when not strict */
  warn(e: ConfigError, code?: ErrorCode): void;
}

const current = new AsyncLocalStorage<ConfigPolicy>();

let running = 0;

/**
 * Runs `fn` (and everything it awaits) under `policy`. Once no build runs any more the
 * storage is disabled: while an AsyncLocalStorage is enabled, Node runs a hook for every
 * promise and async resource of the process, which the event path (an HTTP request makes
 * several) would pay for the daemon's whole life.
 */
export function withConfigPolicy<T>(policy: ConfigPolicy, fn: () => T): T {
  running++;
  let r: T;
  try {
    r = current.run(policy, fn);
  } catch (e) {
    built();
    throw e;
  }
  if (r instanceof Promise) return r.finally(built) as T;
  built();
  return r;
}

function built(): void {
  if (--running === 0) current.disable();
}

/** An unknown parameter or section: thrown when strict (the default), else warned and ignored. */
export function reportUnknown(e: ConfigError): void {
  const p = current.getStore();
  if (!p || p.strict) throw withCode(e, 'CONFIG_UNKNOWN');
  p.warn(e);
}

/**
 * Something Fluentd accepts without a word that Sluice reads as Fluentd does but says so
 * (e.g. an empty number read as 0): thrown when strict or outside a build, else warned
 * with `code`.
 */
export function reportLenient(e: ConfigError, code: ErrorCode): void {
  const p = current.getStore();
  if (!p || p.strict) throw withCode(e, code);
  p.warn(e, code);
}
