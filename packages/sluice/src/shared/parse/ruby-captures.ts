// Named captures inside a repeated group keep Ruby's (Onigmo's) meaning.
//
// In Ruby, a group that matched in an earlier iteration of a repeated group keeps its
// value when a later iteration takes another alternative:
//   /(?: (?:id="(?<id>[^"]*)"|ip="(?<ip>[^"]*)"))*/ on ' id="a" ip="b"'  -> id=a, ip=b
// JavaScript resets the captures of a quantified atom at each iteration, so only the last
// iteration's survive (ip=b, id undefined). The official fluentd-kubernetes-daemonset's
// kube-apiserver-audit.conf parses audit lines that way, and lost every field but the last.
//
// For an expression with such a group (a `*`, `+`, `{n}` or `{n,m}` group, n or m > 1,
// holding named captures), the match runs on a copy where the group is wrapped in a capture of its own,
// which gives the text all its iterations matched. That text is then walked one iteration
// at a time with the group alone (sticky), each step constrained by a lookahead to leave
// a rest the group can still consume to the end, as the whole match did; a name keeps the
// last value any iteration gave it. Expressions without such a group are left as they are.

const WRAP = '__sluice_rep';

interface Repeated {
  /** capture name of the wrapper */
  wrapper: string;
  /** matches one iteration at lastIndex, leaving a rest that more iterations consume */
  step: RegExp;
}

export interface RubyCaptures {
  /** the expression to exec instead of the original */
  regexp: RegExp;
  /** rewrites a match's groups with Ruby's values */
  fix(m: RegExpExecArray): void;
}

/** Start and end (exclusive, quantifier included) of each outermost repeated group with names. */
function repeatedGroups(src: string): { start: number; close: number; end: number }[] {
  const found: { start: number; close: number; end: number }[] = [];
  const stack: { start: number; named: boolean }[] = [];
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      continue;
    }
    if (c === '(') {
      const named = src.startsWith('(?<', i) && src[i + 3] !== '=' && src[i + 3] !== '!';
      // A named group marks every group it sits in.
      if (named) for (const g of stack) g.named = true;
      stack.push({ start: i, named: false });
      continue;
    }
    if (c !== ')') continue;
    const g = stack.pop();
    if (!g?.named) continue;
    const q = /^(?:[*+]|\{(\d+)(,(\d*))?\})\??/.exec(src.slice(i + 1));
    if (!q) continue;
    // {n} repeats n times, {n,m} up to m, {n,} without bound: once at most changes nothing.
    const most =
      q[1] === undefined ? Infinity : q[2] === undefined ? Number(q[1]) : q[3] ? Number(q[3]) : Infinity;
    if (most <= 1) continue;
    // Only the outermost: a repeated group inside one already found is walked with it.
    while (found.length && found[found.length - 1]!.start > g.start) found.pop();
    found.push({ start: g.start, close: i + 1, end: i + 1 + q[0].length });
  }
  return found;
}

/** The group with its named captures made plain, for the lookahead (names may not repeat). */
function unnamed(group: string): string {
  return group.replace(/\\.|\[(?:\\.|[^\]])*\]|\(\?<(?![=!])[A-Za-z_][A-Za-z0-9_]*>/g, (t) =>
    t.startsWith('(?<') ? '(?:' : t,
  );
}

/**
 * Ruby's capture semantics for `re`, or undefined when its captures mean the same in
 * JavaScript (no repeated group holds a named capture) or cannot be carried over
 * (backreferences, whose numbering the wrapper would shift).
 */
export function rubyCaptures(re: RegExp): RubyCaptures | undefined {
  const src = re.source;
  if (/\\k<|\\[1-9]/.test(src.replace(/\\\\/g, ''))) return undefined;
  const groups = repeatedGroups(src);
  if (groups.length === 0) return undefined;
  const flags = re.flags.replace(/[gy]/g, '');
  const repeated: Repeated[] = [];
  let out = '';
  let at = 0;
  groups.forEach((g, n) => {
    const group = src.slice(g.start, g.close);
    const wrapper = `${WRAP}${n}`;
    out += `${src.slice(at, g.start)}(?<${wrapper}>${src.slice(g.start, g.end)})`;
    at = g.end;
    repeated.push({
      wrapper,
      step: new RegExp(`${group}(?=(?:${unnamed(group)})*(?![\\s\\S]))`, `${flags}y`),
    });
  });
  out += src.slice(at);
  const regexp = new RegExp(out, re.flags);
  return {
    regexp,
    fix(m) {
      const groups = m.groups;
      if (!groups) return;
      for (const r of repeated) {
        const text = groups[r.wrapper];
        delete groups[r.wrapper];
        if (!text) continue;
        const step = r.step;
        let pos = 0;
        while (pos < text.length) {
          step.lastIndex = pos;
          const it = step.exec(text);
          if (!it || it[0].length === 0) break;
          for (const [k, v] of Object.entries(it.groups ?? {})) if (v !== undefined) groups[k] = v;
          pos += it[0].length;
        }
      }
    },
  };
}
