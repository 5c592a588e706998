import type { SourceLocation } from '../core/errors.ts';

/** One `key value` line (or YAML key). Values are kept as the text the user wrote, unquoted. */
export interface ConfigParam {
  key: string;
  value: string;
  location: SourceLocation;
  /**
   * Embedded code reached use_default (the parameter takes its default) or use_nil (it is
   * unset); `value` is then ''. Resolved by config/schema.ts as Fluentd's section.rb does.
   */
  special?: 'default' | 'nil';
}

/**
 * A directive or section: `<name arg> ... </name>`. The root element has name ''.
 * Both the Fluentd-syntax parser and the YAML parser produce this shape.
 */
export interface ConfigElement {
  name: string;
  arg: string;
  params: ConfigParam[];
  elements: ConfigElement[];
  location: SourceLocation;
}

export function param(el: ConfigElement, key: string): ConfigParam | undefined {
  // The last occurrence wins, as in Fluentd.
  for (let i = el.params.length - 1; i >= 0; i--) if (el.params[i]!.key === key) return el.params[i];
  return undefined;
}

export function newElement(name: string, arg: string, location: SourceLocation): ConfigElement {
  return { name, arg, params: [], elements: [], location };
}

/** The `@type` (or v0.12 `type`) of a plugin element. */
export function typeOf(el: ConfigElement): string | undefined {
  return param(el, '@type')?.value ?? param(el, 'type')?.value;
}
