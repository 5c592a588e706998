import { ConfigError } from '../core/errors.ts';
import type { ConfigElement } from './ast.ts';
import type { ParseOptions } from './parser.ts';

export function parseYamlConfig(_text: string, opts: ParseOptions, _includeStack: string[] = []): ConfigElement {
  throw new ConfigError(`YAML config is not supported yet: ${opts.file}`);
}
