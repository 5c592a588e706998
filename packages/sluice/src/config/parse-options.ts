import type { EvalContext } from './interpolate.ts';

/** How a config text is read: its name, where its @include paths start, what "#{...}" sees. */
export interface ParseOptions extends EvalContext {
  /** the name used in locations (and to resolve relative @include when baseDir is absent) */
  file: string;
  /** directory relative @include paths start from; default: the file's directory */
  baseDir?: string;
}
