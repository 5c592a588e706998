import { ConfigError } from '../core/errors.ts';
import type { ConfigElement } from './ast.ts';
import { closest } from './schema.ts';

// Which directives may appear where (Fluentd's root_agent.rb / agent.rb). Checked at
// parse time so a typo such as <sorce> is an error with its line, not silently ignored.
const ROOT = ['source', 'match', 'filter', 'label', 'system', 'worker'];
const IN_LABEL = ['filter', 'match'];
const IN_WORKER = ['source', 'match', 'filter', 'label'];

function check(el: ConfigElement, allowed: string[], where: string): void {
  for (const child of el.elements) {
    if (!allowed.includes(child.name)) {
      const hint = closest(child.name, allowed);
      throw new ConfigError(
        `<${child.name}> is not allowed ${where}${hint ? ` (did you mean <${hint}>?)` : ''}; expected ${allowed.map((a) => `<${a}>`).join(', ')}`,
        child.location,
      );
    }
    if (child.name === 'label') {
      if (!child.arg) throw new ConfigError('<label> needs a name, e.g. <label @OUTPUT>', child.location);
      check(child, IN_LABEL, `inside <label ${child.arg}>`);
    } else if (child.name === 'worker') {
      const m = /^(\d+)(?:-(\d+))?$/.exec(child.arg);
      if (!m)
        throw new ConfigError(
          `<worker ${child.arg}>: expected a worker index N or a range N-M`,
          child.location,
        );
      if (m[2] !== undefined && Number(m[2]) < Number(m[1])) {
        throw new ConfigError(`<worker ${child.arg}>: the range end is lower than its start`, child.location);
      }
      check(child, IN_WORKER, `inside <worker ${child.arg}>`);
    } else if ((child.name === 'match' || child.name === 'filter') && !child.arg) {
      // Fluentd defaults an empty pattern to **; say so rather than guess.
      child.arg = '**';
    }
  }
}

/** Checks the directive layout of a parsed root: names, <label>/<worker> arguments and contents. */
export function validateStructure(root: ConfigElement): void {
  check(root, ROOT, 'at the top level');
}
