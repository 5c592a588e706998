// The Ruby that Fluentd configs embed in "#{...}", evaluated without Ruby. Fluentd runs
// any Ruby there (instance_eval); the configs people run use a small part of it: ENV
// lookups, `||` defaults, string `+`, literals, use_default/use_nil, the host name and a
// few conversions. That part is read by this small recursive-descent evaluator; anything
// else is refused with the forms that are understood, never kept as text or guessed at.

/** `use_default` / `use_nil` (Fluentd's SetDefault / SetNil): the whole value is special. */
export type SpecialValue = 'default' | 'nil';

export interface RubyScope {
  env: Record<string, string | undefined>;
  hostname: string;
  workerId: string;
}

export const SUPPORTED_RUBY =
  "supported: ENV['NAME'], ENV.fetch('NAME'[, default]), 'strings', numbers, true, false, nil, " +
  'a || b, a + b, a == b, a != b, c ? a : b, (…), .to_s, .to_i, .to_f, .strip, .downcase, .upcase, ' +
  'use_default, use_nil, Socket.gethostname, hostname, worker_id';

type Value = string | number | boolean | null;

/**
 * Thrown by an unsupported form (the caller adds the code, the forms understood and where
 * it is), or by code that is understood but fails (`standalone`: the message says it all).
 */
export class RubyEvalError extends Error {
  constructor(
    message: string,
    readonly standalone = false,
  ) {
    super(message);
  }
}

/** use_default / use_nil stop the evaluation, as the Ruby methods raise in Fluentd. */
class Special {
  constructor(readonly kind: SpecialValue) {}
}

type Token =
  | { t: 'str'; v: string }
  | { t: 'num'; v: number }
  | { t: 'id'; v: string }
  | { t: 'op'; v: string };

const OPS = ['||', '==', '!=', '+', '.', '(', ')', '[', ']', ',', '?', ':'];

function lex(code: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < code.length) {
    const c = code[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'" || c === '"') {
      let v = '';
      i++;
      for (;;) {
        if (i >= code.length) throw new RubyEvalError('unterminated string');
        const d = code[i]!;
        if (d === c) break;
        if (d === '\\' && i + 1 < code.length) {
          const n = code[i + 1]!;
          // Single quotes know only \' and \\; double quotes the usual escapes.
          if (c === "'") v += n === "'" || n === '\\' ? n : `\\${n}`;
          else v += n === 'n' ? '\n' : n === 't' ? '\t' : n === 'r' ? '\r' : n;
          i += 2;
          continue;
        }
        if (c === '"' && d === '#' && code[i + 1] === '{')
          throw new RubyEvalError('"#{...}" inside embedded code');
        v += d;
        i++;
      }
      i++;
      out.push({ t: 'str', v });
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(code[i + 1] ?? ''))) {
      const m = /^-?[0-9][0-9_]*(\.[0-9]+)?/.exec(code.slice(i))!;
      out.push({ t: 'num', v: Number(m[0].replaceAll('_', '')) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*[?!]?/.exec(code.slice(i))!;
      out.push({ t: 'id', v: m[0] });
      i += m[0].length;
    } else {
      const op = OPS.find((o) => code.startsWith(o, i));
      if (!op) throw new RubyEvalError(`unexpected '${c}'`);
      out.push({ t: 'op', v: op });
      i += op.length;
    }
  }
  return out;
}

function truthy(v: Value): boolean {
  return v !== null && v !== false;
}

/** Ruby's to_s of a value, as "#{v}" writes it. */
export function rubyToS(v: Value): string {
  if (v === null) return '';
  return String(v);
}

class Evaluator {
  private i = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly scope: RubyScope,
    /** reading a short-circuited operand for its syntax: values are not checked */
    private readonly dry = false,
  ) {}

  run(): Value {
    const v = this.ternary();
    if (this.i < this.tokens.length)
      throw new RubyEvalError(`unexpected '${this.show(this.tokens[this.i]!)}'`);
    return v;
  }

  private show(t: Token): string {
    return t.t === 'str' ? JSON.stringify(t.v) : String(t.v);
  }

  private peekOp(op: string): boolean {
    const t = this.tokens[this.i];
    return t !== undefined && t.t === 'op' && t.v === op;
  }

  private expect(op: string): void {
    if (!this.peekOp(op)) {
      const t = this.tokens[this.i];
      throw new RubyEvalError(`expected '${op}'${t ? ` before '${this.show(t)}'` : ' at the end'}`);
    }
    this.i++;
  }

  // Precedence, lowest first, as in Ruby: ?:, ||, == !=, +, method calls.
  private ternary(): Value {
    const cond = this.or();
    if (!this.peekOp('?')) return cond;
    this.i++;
    const a = this.ternary();
    this.expect(':');
    const b = this.ternary();
    return truthy(cond) ? a : b;
  }

  private or(): Value {
    let v = this.equality();
    while (this.peekOp('||')) {
      this.i++;
      // Ruby short-circuits: the right side is not evaluated when the left is truthy,
      // so `ENV['A'] || use_default` is the variable whenever it is set.
      const start = this.i;
      if (truthy(v)) {
        this.skipOperand();
        if (this.i === start) throw new RubyEvalError("expected a value after '||'");
      } else v = this.equality();
    }
    return v;
  }

  /** Evaluates the right side of a short-circuited `||` for its syntax only. */
  private skipOperand(): void {
    const dry = new Evaluator(this.tokens, { ...this.scope, env: new Proxy({}, { get: () => '' }) }, true);
    dry.i = this.i;
    try {
      dry.equality();
    } catch (e) {
      if (!(e instanceof Special)) throw e;
    }
    this.i = dry.i;
  }

  private equality(): Value {
    let v = this.add();
    while (this.peekOp('==') || this.peekOp('!=')) {
      const neg = (this.tokens[this.i++] as { v: string }).v === '!=';
      const w = this.add();
      v = (v === w) !== neg;
    }
    return v;
  }

  private add(): Value {
    let v = this.postfix();
    while (this.peekOp('+')) {
      this.i++;
      const w = this.postfix();
      if (this.dry) continue;
      if (typeof v === 'string' && typeof w === 'string') v = v + w;
      else if (typeof v === 'number' && typeof w === 'number') v = v + w;
      else
        throw new RubyEvalError(
          `cannot add ${rubyClass(w)} to ${rubyClass(v)} (an unset ENV['…'] is nil: give it a default with ||)`,
          true,
        );
    }
    return v;
  }

  private postfix(): Value {
    let v = this.primary();
    while (this.peekOp('.')) {
      this.i++;
      const t = this.tokens[this.i++];
      if (t?.t !== 'id') throw new RubyEvalError("expected a method name after '.'");
      v = callMethod(v, t.v);
    }
    return v;
  }

  private primary(): Value {
    const t = this.tokens[this.i++];
    if (t === undefined) throw new RubyEvalError('expected a value at the end');
    if (t.t === 'str' || t.t === 'num') return t.v;
    if (t.t === 'op') {
      if (t.v === '(') {
        const v = this.ternary();
        this.expect(')');
        return v;
      }
      throw new RubyEvalError(`unexpected '${t.v}'`);
    }
    switch (t.v) {
      case 'true':
        return true;
      case 'false':
        return false;
      case 'nil':
        return null;
      case 'use_default':
        throw new Special('default');
      case 'use_nil':
        throw new Special('nil');
      case 'hostname':
        return this.scope.hostname;
      case 'worker_id':
        return this.scope.workerId;
      case 'Socket':
        this.expect('.');
        if (this.tokens[this.i]?.t === 'id' && this.tokens[this.i]!.v === 'gethostname') {
          this.i++;
          return this.scope.hostname;
        }
        throw new RubyEvalError('only Socket.gethostname is understood');
      case 'ENV':
        return this.env();
    }
    throw new RubyEvalError(`'${t.v}' is not understood`);
  }

  private env(): Value {
    if (this.peekOp('[')) {
      this.i++;
      const name = this.ternary();
      this.expect(']');
      return this.scope.env[String(name)] ?? null;
    }
    this.expect('.');
    const m = this.tokens[this.i++];
    if (m?.t !== 'id' || m.v !== 'fetch')
      throw new RubyEvalError("only ENV['NAME'] and ENV.fetch are understood");
    this.expect('(');
    const name = String(this.ternary());
    let fallback: { v: Value } | undefined;
    if (this.peekOp(',')) {
      this.i++;
      fallback = { v: this.ternary() };
    }
    this.expect(')');
    const v = this.scope.env[name];
    if (v !== undefined) return v;
    if (fallback) return fallback.v;
    throw new RubyEvalError(`environment variable '${name}' is not set (ENV.fetch without a default)`, true);
  }
}

function rubyClass(v: Value): string {
  if (v === null) return 'nil';
  if (typeof v === 'boolean') return String(v);
  return typeof v === 'number' ? 'a number' : 'a String';
}

function callMethod(v: Value, name: string): Value {
  switch (name) {
    case 'to_s':
      return rubyToS(v);
    case 'to_i': {
      if (typeof v === 'number') return Math.trunc(v);
      const m = /^\s*[-+]?\d+/.exec(typeof v === 'string' ? v.replaceAll('_', '') : '');
      return m ? Number.parseInt(m[0], 10) : 0;
    }
    case 'to_f': {
      if (typeof v === 'number') return v;
      const m = /^\s*[-+]?\d+(\.\d+)?/.exec(typeof v === 'string' ? v : '');
      return m ? Number(m[0]) : 0;
    }
    case 'strip':
    case 'downcase':
    case 'upcase':
      if (typeof v !== 'string') throw new RubyEvalError(`${rubyClass(v)} has no method '${name}'`);
      return name === 'strip' ? v.trim() : name === 'downcase' ? v.toLowerCase() : v.toUpperCase();
    case 'nil?':
      return v === null;
    case 'empty?':
      if (typeof v !== 'string') throw new RubyEvalError(`${rubyClass(v)} has no method 'empty?'`);
      return v === '';
  }
  throw new RubyEvalError(`method '.${name}' is not understood`);
}

/**
 * Evaluates embedded code. Returns the text "#{code}" stands for, or a special value when
 * use_default / use_nil was reached. Throws RubyEvalError for anything it does not read.
 */
export function evalRuby(code: string, scope: RubyScope): string | { special: SpecialValue } {
  try {
    return rubyToS(new Evaluator(lex(code), scope).run());
  } catch (e) {
    if (e instanceof Special) return { special: e.kind };
    throw e;
  }
}
