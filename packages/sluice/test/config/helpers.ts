import assert from 'node:assert/strict';
import type { ConfigElement } from '../../src/config/ast.ts';
import { parseConfigText } from '../../src/config/parser.ts';
import { ConfigError } from '../../src/core/errors.ts';

export const ENV = { HOME_DIR: '/home/app', EMPTY: '' };

export function parse(text: string): ConfigElement {
  return parseConfigText(text, { file: 'test.conf', env: ENV, hostname: 'box1' });
}

/** key -> value of an element's params (last wins) */
export function params(el: ConfigElement | undefined): Record<string, string> {
  assert.ok(el, 'element exists');
  return Object.fromEntries(el.params.map((p) => [p.key, p.value]));
}

/** The single param value of `<source>`'s `key` in a one-line snippet. */
export function value(line: string): string {
  const root = parse(`<source>\n  v ${line}\n</source>\n`);
  const p = root.elements[0]!.params.find((x) => x.key === 'v');
  assert.ok(p, `param v parsed from ${line}`);
  return p.value;
}

/** Asserts that `fn` throws a ConfigError at file:line:column whose reason matches `re`. */
export function throwsAt(
  fn: () => unknown,
  file: string,
  line: number,
  column: number,
  re: RegExp,
): ConfigError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
  assert.match(err.reason, re);
  assert.deepEqual(err.location, { file, line, column }, `location of: ${err.message}`);
  assert.ok(err.message.startsWith(`${file}:${line}:${column}: `), err.message);
  return err;
}

/** A compact view of the tree: name, arg, params and children. */
export function shape(el: ConfigElement): unknown {
  return {
    name: el.name,
    arg: el.arg,
    params: params(el),
    ...(el.elements.length ? { elements: el.elements.map(shape) } : {}),
  };
}
