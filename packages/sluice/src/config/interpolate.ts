import { hostname } from 'node:os';
import type { Scanner } from './scanner.ts';

/** What `"#{...}"` may read. Tests pass their own env; the daemon passes process.env. */
export interface EvalContext {
  env?: Record<string, string | undefined>;
  /** `#{worker_id}`: the worker index with `<system> workers N` (else env SLUICE_WORKER_ID, else '') */
  workerId?: number;
  /** `#{hostname}` / `#{Socket.gethostname}`; defaults to os.hostname() */
  hostname?: string;
}

const STR = String.raw`(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")`;
const ENV_INDEX = new RegExp(String.raw`^ENV\s*\[\s*${STR}\s*\]$`);
const ENV_FETCH = new RegExp(String.raw`^ENV\.fetch\s*\(\s*${STR}\s*(?:,\s*${STR}\s*)?\)$`);

const SUPPORTED =
  "supported: ENV['NAME'], ENV.fetch('NAME', 'default'), Socket.gethostname, hostname, worker_id";

function unquote(single: string | undefined, double: string | undefined): string | undefined {
  if (single !== undefined) return single.replace(/\\([\\'])/g, '$1');
  if (double !== undefined) return double.replace(/\\(.)/g, '$1');
  return undefined;
}

/**
 * Scans the Ruby code of a `#{...}` (the cursor is just after `#{`) up to its closing
 * brace, honouring quotes and nested braces, and returns what it evaluates to.
 * Fluentd evaluates any Ruby here; Sluice runs no Ruby, so only the forms users rely
 * on are understood and anything else is an error rather than text kept verbatim.
 */
export function evalEmbedded(s: Scanner, ctx: EvalContext): string {
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
  let m = ENV_INDEX.exec(code);
  if (m) return env[unquote(m[1], m[2])!] ?? '';
  m = ENV_FETCH.exec(code);
  if (m) {
    const name = unquote(m[1], m[2])!;
    const fallback = unquote(m[3], m[4]);
    const v = env[name];
    if (v !== undefined) return v;
    if (fallback !== undefined) return fallback;
    throw s.error(`environment variable '${name}' is not set (ENV.fetch without a default)`, start);
  }
  if (code === 'Socket.gethostname' || code === 'hostname') return ctx.hostname ?? hostname();
  if (code === 'worker_id')
    return ctx.workerId !== undefined ? String(ctx.workerId) : (env.SLUICE_WORKER_ID ?? '');
  throw s.error(`unsupported embedded Ruby code '#{${code}}' (${SUPPORTED})`, start);
}
