import type { ConfigElement } from '../config/ast.ts';
import { ConfigError } from '../core/errors.ts';

/**
 * The directives one worker runs: every top-level directive, plus the contents of
 * `<worker N>` / `<worker N-M>` sections that include this worker, as in Fluentd.
 */
export function selectWorkerDirectives(
  root: ConfigElement,
  workerId: number,
  workers: number,
): ConfigElement[] {
  const out: ConfigElement[] = [];
  for (const el of root.elements) {
    if (el.name !== 'worker') {
      out.push(el);
      continue;
    }
    const m = /^\s*(\d+)(?:\s*-\s*(\d+))?\s*$/.exec(el.arg);
    if (!m) throw new ConfigError(`<worker ${el.arg}>: expected a worker number or a range N-M`, el.location);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new ConfigError(`<worker ${el.arg}>: the range is reversed`, el.location);
    if (to >= workers) {
      throw new ConfigError(
        `<worker ${el.arg}>: worker ${to} does not exist (<system> workers is ${workers})`,
        el.location,
      );
    }
    for (const child of el.elements) {
      if (child.name === 'worker')
        throw new ConfigError('<worker> sections cannot be nested', child.location);
      if (child.name === 'system')
        throw new ConfigError('<system> is not allowed inside <worker>', child.location);
    }
    if (workerId >= from && workerId <= to) out.push(...el.elements);
  }
  return out;
}

/**
 * How many workers run a directive: all of them at the top level, the size of the range
 * inside `<worker N-M>`. Fluentd refuses a plugin that cannot share its work (in_tail) when
 * this is more than one; Sluice too, since each worker would read the same files.
 */
export function workersRunning(root: ConfigElement, directive: ConfigElement, workers: number): number {
  for (const el of root.elements) {
    if (el === directive) return workers;
    if (el.name === 'worker' && el.elements.includes(directive)) {
      const m = /^\s*(\d+)(?:\s*-\s*(\d+))?\s*$/.exec(el.arg);
      return m?.[2] === undefined ? 1 : Number(m[2]) - Number(m[1]) + 1;
    }
  }
  return workers;
}
