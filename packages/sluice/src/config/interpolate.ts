import { hostname } from 'node:os';
import { evalRuby, RubyEvalError, type SpecialValue, SUPPORTED_RUBY } from './ruby-eval.ts';
import type { Scanner } from './scanner.ts';

/** What `"#{...}"` may read. Tests pass their own env; the daemon passes process.env. */
export interface EvalContext {
  env?: Record<string, string | undefined>;
  /** `#{worker_id}`: the worker index with `<system> workers N` (else env SLUICE_WORKER_ID, else '') */
  workerId?: number;
  /** `#{hostname}` / `#{Socket.gethostname}`; defaults to os.hostname() */
  hostname?: string;
}

/**
 * Scans the Ruby code of a `#{...}` (the cursor is just after `#{`) up to its closing
 * brace, honouring quotes and nested braces, and returns what it evaluates to: its text,
 * or use_default / use_nil, which make the whole value special (as Fluentd's SetDefault
 * and SetNil do). Fluentd evaluates any Ruby here; Sluice runs no Ruby, so only the forms
 * configs use are understood (ruby-eval.ts) and anything else is an error rather than
 * text kept verbatim.
 */
export function evalEmbedded(s: Scanner, ctx: EvalContext): string | { special: SpecialValue } {
  const start = s.pos - 2;
  let depth = 0;
  let quote = '';
  const codeStart = s.pos;
  for (;;) {
    if (s.eof) throw s.error("unterminated '#{' in a double-quoted string (expected '}')", start);
    const c = s.text[s.pos]!;
    if (quote) {
      if (c === '\\') s.pos++;
      else if (c === quote) quote = '';
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '{') depth++;
    else if (c === '}') {
      if (depth === 0) break;
      depth--;
    }
    s.pos++;
  }
  const code = s.text.slice(codeStart, s.pos).trim();
  s.pos++; // the closing brace
  const env = ctx.env ?? process.env;
  try {
    return evalRuby(code, {
      env,
      hostname: ctx.hostname ?? hostname(),
      workerId: ctx.workerId !== undefined ? String(ctx.workerId) : (env.SLUICE_WORKER_ID ?? ''),
    });
  } catch (e) {
    if (!(e instanceof RubyEvalError)) throw e;
    if (e.standalone) throw s.error(e.message, start);
    throw s.error(`unsupported embedded Ruby code '#{${code}}': ${e.message} (${SUPPORTED_RUBY})`, start);
  }
}
