import { execSync } from 'node:child_process';
import { hostname } from 'node:os';
import { rubyToS } from '../../codec/ruby-to-s.ts';
import type { ConfigElement } from '../../config/ast.ts';
import { param } from '../../config/ast.ts';
import { defineSchema } from '../../config/schema.ts';
import { type Entry, EventBatch } from '../../core/batch.ts';
import { ConfigError } from '../../core/errors.ts';
import type { OutputPlugin, OutputRouter, PluginContext, PluginDescriptor } from '../../core/plugin.ts';
import { createRecordAccessor, type RecordAccessor } from '../../core/record-accessor.ts';
import { rubyRegexp } from '../../shared/parse/ruby-regexp.ts';

// fluent-plugin-rewrite-tag-filter (an output, as in Fluentd: a filter cannot change the
// tag). Each record is tried against the <rule>s in order; the first whose pattern
// matches record[key] (or does not, with invert) gives the new tag: `$1`.. are the
// pattern's groups, `${tag}`/`__TAG__`, `${tag_parts[N]}`/`__TAG_PARTS[N]__` and
// `${hostname}`/`__HOSTNAME__` are placeholders. The event goes back through the router
// of this output's label (or the rule's label), and process() resolves when every
// output it reached accepted it. A record no rule matches, or whose tag does not change
// (without a label), is dropped, as in Fluentd.

interface Rule {
  key: RecordAccessor;
  pattern: RegExp;
  invert: boolean;
  tag: string;
  label: string | undefined;
  element: ConfigElement;
}

const PLACEHOLDER = /\$\{[a-z_]+(?:\[[0-9]+\])?\}|__TAG_PARTS\[[0-9]+\]__|__[A-Z_]+__/g;
const BACKREF = /\$\d+/g;

/** Ruby's String#capitalize: the first character up, the rest down. */
function capitalize(s: string): string {
  return s.length === 0 ? s : s[0]!.toUpperCase() + s.slice(1).toLowerCase();
}

export class RewriteTagFilter implements OutputPlugin {
  private readonly warned = new Set<string>();

  constructor(
    private readonly rules: Rule[],
    private readonly host: string,
    private readonly removeTag: RegExp | undefined,
    private readonly capitalizeRefs: boolean,
    private readonly batchMode: boolean,
    private readonly router: OutputRouter,
    private readonly ctx: PluginContext,
  ) {}

  placeholders(tag: string): Map<string, string> {
    const t = this.removeTag ? tag.replace(this.removeTag, '') : tag;
    const m = new Map<string, string>([
      ['__HOSTNAME__', this.host],
      ['${hostname}', this.host],
      ['__TAG__', t],
      ['${tag}', t],
    ]);
    t.split('.').forEach((part, i) => {
      m.set(`\${tag_parts[${i}]}`, part);
      m.set(`__TAG_PARTS[${i}]__`, part);
    });
    return m;
  }

  /** The new tag and label of a record, or undefined when no rule applies. */
  rewrite(
    tag: string,
    value: (rule: Rule) => string,
    ph: Map<string, string>,
  ): { tag: string; label: string | undefined } | undefined {
    for (const rule of this.rules) {
      const out = this.apply(rule, value(rule), tag, ph);
      if (out !== undefined) return { tag: out, label: rule.label };
    }
    return undefined;
  }

  /** The tag `rule` gives for a record whose key holds `v`, or undefined when it does not apply. */
  apply(rule: Rule, v: string, tag: string, ph: Map<string, string>): string | undefined {
    if (v === '' && !rule.invert) return undefined;
    rule.pattern.lastIndex = 0;
    const m = rule.pattern.exec(v);
    let out = rule.tag;
    if (rule.invert) {
      if (m) return undefined;
    } else {
      if (!m) return undefined;
      out = out.replace(BACKREF, (ref) => {
        const n = Number(ref.slice(1));
        const g = n === 0 ? undefined : m[n];
        if (g === undefined) return '';
        return this.capitalizeRefs ? capitalize(g) : g;
      });
    }
    return out.replace(PLACEHOLDER, (p) => {
      const r = ph.get(p);
      if (r === undefined && !this.warned.has(p)) {
        this.warned.add(p);
        this.ctx.logger.warn(
          { code: 'REWRITE_TAG_PLACEHOLDER', placeholder: p, tag, rewritetag: rule.tag },
          'rewrite_tag_filter: unknown placeholder found',
        );
      }
      return r ?? '';
    });
  }

  async process(batch: EventBatch): Promise<void> {
    const ph = this.placeholders(batch.tag);
    // (label, tag) -> entries, in the order they first appear
    const groups = new Map<string, { label: string; tag: string; entries: Entry[] }>();
    const sends: Promise<void>[] = [];
    for (const e of batch.entries()) {
      const r = this.rewrite(batch.tag, (rule) => rubyToS(rule.key.get(e.record)), ph);
      if (!r || (r.tag === batch.tag && r.label === undefined)) continue;
      const label = r.label ?? this.router.label;
      if (!this.batchMode) {
        sends.push(this.router.emitToLabel(label, EventBatch.fromEntries(r.tag, [e])));
        continue;
      }
      const k = `${label}\u0000${r.tag}`;
      let g = groups.get(k);
      if (!g) {
        g = { label, tag: r.tag, entries: [] };
        groups.set(k, g);
      }
      g.entries.push(e);
    }
    for (const g of groups.values()) {
      // Every event to one tag: the same bytes under the new tag.
      const b =
        g.entries.length === batch.count ? batch.retag(g.tag) : EventBatch.fromEntries(g.tag, g.entries);
      sends.push(this.router.emitToLabel(g.label, b));
    }
    await Promise.all(sends);
  }
}

/** A tag the pattern (its first glob) matches: `*` and `**` as `x`, `{a,b}` as `a`. */
function sampleTag(pattern: string): string | undefined {
  const first = pattern.trim().split(/\s+/)[0] ?? '';
  if (first.startsWith('/')) return undefined;
  return first
    .replace(/\{([^,}]*)[^}]*\}/g, '$1')
    .replace(/\*\*?/g, 'x')
    .replace(/\\(.)/g, '$1');
}

/**
 * Refuses a rule whose rewritten events would come back to this same <match>: the record
 * is unchanged, so the same rule applies again; a tag that grows each time (`foo.${tag}`
 * under `<match **>`) loops for ever. Checked on a sample tag of the match pattern, with
 * `x` for the groups (inside a copy <store>, the copy's <match>): what cannot be seen
 * from the config is not refused. A tag that comes back unchanged is dropped there
 * (Fluentd skips an unchanged tag): warned.
 */
function checkLoops(
  p: RewriteTagFilter,
  rules: Rule[],
  own: ConfigElement,
  router: OutputRouter,
  ctx: PluginContext,
): void {
  const s0 = sampleTag(own.arg || '**');
  if (s0 === undefined || router.matchFor(s0, router.label) !== own) return;
  // The rule applied to a record that it takes, its groups read as `x`.
  const any: Rule = {
    key: rules[0]!.key,
    pattern: /^(x)?(x)?(x)?(x)?(x)?(x)?(x)?(x)?(x)?$/,
    invert: false,
    tag: '',
    label: undefined,
    element: own,
  };
  const once = (rule: Rule, tag: string) =>
    p.apply({ ...any, tag: rule.tag }, 'xxxxxxxxx', tag, p.placeholders(tag));
  for (const rule of rules) {
    const label = rule.label ?? router.label;
    const t1 = once(rule, s0);
    if (t1 === undefined || (t1 === s0 && rule.label === undefined)) continue;
    if (router.matchFor(t1, label) !== own) continue;
    const t2 = once(rule, t1);
    const where = rule.element.location;
    if (t2 === t1 && rule.label === undefined) {
      ctx.logger.warn(
        { code: 'REWRITE_TAG_DROPPED', rule: rule.tag, tag: t1 },
        `rewrite_tag_filter: events given the tag '${t1}' by the rule at ${where.file}:${where.line} come back to this same <match ${own.arg}>, where their tag no longer changes: they are dropped there`,
      );
      continue;
    }
    throw new ConfigError(
      `rewrite_tag_filter: the rule's tag '${rule.tag}' loops: its events come back to this same <match ${own.arg}> ('${s0}' -> '${t1}' -> '${t2}' ...) and the rule rewrites them again for ever. Give them a tag this <match> does not take (or one an earlier <match> takes), or a label`,
      where,
    );
  }
}

const ruleParams = {
  key: {
    type: 'string',
    required: true,
    description:
      "Field whose value the pattern is matched against (a record accessor: 'a', '$.a.b', \"$['a']['b']\").",
  },
  pattern: {
    type: 'string',
    required: true,
    description: 'Regular expression, /.../ (with flags) or bare; $1.. in tag are its groups.',
  },
  tag: {
    type: 'string',
    required: true,
    description:
      'The new tag: $1.. (groups), ${tag} / __TAG__, ${tag_parts[N]} / __TAG_PARTS[N]__, ${hostname} / __HOSTNAME__.',
  },
  label: {
    type: 'string',
    default: null,
    description: 'Send the rewritten events to this <label> instead of the label this output is in.',
  },
  invert: {
    type: 'bool',
    default: false,
    description: 'Apply the rule when the pattern does NOT match (an absent field reads as empty).',
  },
} as const;

const schema = defineSchema({
  params: {
    capitalize_regex_backreference: {
      type: 'bool',
      default: false,
      description: 'Capitalize every $N group put into a tag (maps -> Maps).',
    },
    remove_tag_prefix: {
      type: 'string',
      default: null,
      description: 'Removed (with the dot after it) from the tag before it fills ${tag} and ${tag_parts[N]}.',
    },
    remove_tag_regexp: {
      type: 'string',
      default: null,
      description:
        'Regexp removed from the tag before it fills ${tag} and ${tag_parts[N]}; excludes remove_tag_prefix.',
    },
    hostname_command: {
      type: 'string',
      default: 'hostname',
      description:
        'Command run once at startup whose output fills ${hostname} and __HOSTNAME__ (e.g. hostname -s).',
    },
    emit_mode: {
      type: 'enum',
      values: ['record', 'batch'],
      default: 'batch',
      description: 'batch: one emit per new tag of a batch; record: one emit per record.',
    },
  },
  sections: {
    rule: {
      multi: true,
      description: 'A rewrite rule; the first rule that applies to a record gives its tag.',
      params: ruleParams,
    },
  },
});

export default {
  kind: 'output',
  type: 'rewrite_tag_filter',
  description:
    'Gives events a new tag (and optionally label) from <rule>s on their fields and sends them back through the router.',
  buffered: 'never',
  schema,
  create(config, ctx) {
    const el = config.element;
    const p = config.params;
    if (el.params.some((x) => x.key.startsWith('rewriterule')))
      throw new ConfigError(
        '"rewriterule<num>" support has been dropped. Use <rule> section instead.',
        el.params.find((x) => x.key.startsWith('rewriterule'))!.location,
      );
    const router = ctx.router;
    if (!router)
      throw new ConfigError('rewrite_tag_filter needs the engine router (it is an output)', el.location);
    if (!router.hasLabel(router.label))
      throw new ConfigError(
        `@label ${router.label}: no such <label>`,
        param(el, '@label')?.location ?? el.location,
      );
    const sections = config.sections.rule;
    if (sections.length === 0) throw new ConfigError('missing rewriterules', el.location);
    const seen = new Set<string>();
    const rules: Rule[] = sections.map((s) => {
      const r = s.params;
      const tag = r.tag;
      const where = param(s.element, 'tag')?.location ?? s.element.location;
      if (/\$\{tag_parts\[\d+\.\.\.?\d+\]\}|__TAG_PARTS\[\d+\.\.\.?\d+\]__/.test(tag))
        throw new ConfigError(
          '${tag_parts[n]} and __TAG_PARTS[n]__ placeholder does not support range specify',
          where,
        );
      const pat = param(s.element, 'pattern')!;
      let pattern: RegExp;
      try {
        pattern = rubyRegexp(pat.value);
      } catch (e) {
        throw new ConfigError(
          `invalid pattern ${JSON.stringify(pat.value)}: ${(e as Error).message}`,
          pat.location,
        );
      }
      const name = `${r.key}${r.invert ? '!' : ''}${pattern.source}`;
      if (seen.has(name)) throw new ConfigError('duplicated rewriterules found', s.element.location);
      seen.add(name);
      const label = r.label;
      if (label !== undefined && !router.hasLabel(label))
        throw new ConfigError(`rule label ${label}: no such <label>`, param(s.element, 'label')!.location);
      return {
        key: createRecordAccessor(r.key, param(s.element, 'key')?.location),
        pattern,
        invert: r.invert,
        tag,
        label,
        element: s.element,
      };
    });
    if (p.remove_tag_prefix !== undefined && p.remove_tag_regexp !== undefined)
      throw new ConfigError('remove_tag_prefix and remove_tag_regexp are exclusive', el.location);
    let removeTag: RegExp | undefined;
    if (p.remove_tag_prefix !== undefined)
      removeTag = new RegExp(`^${p.remove_tag_prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.?`);
    else if (p.remove_tag_regexp !== undefined) {
      const rp = param(el, 'remove_tag_regexp')!;
      try {
        removeTag = rubyRegexp(rp.value);
      } catch (e) {
        throw new ConfigError(`invalid remove_tag_regexp: ${(e as Error).message}`, rp.location);
      }
    }
    const cmd = p.hostname_command;
    let host: string;
    if (cmd === 'hostname') host = hostname();
    else {
      try {
        host = execSync(cmd, {
          encoding: 'utf8',
          timeout: 10_000,
          stdio: ['ignore', 'pipe', 'ignore'],
        }).replace(/\r?\n$/, '');
      } catch (e) {
        throw new ConfigError(
          `hostname_command '${cmd}' failed: ${(e as Error).message}`,
          param(el, 'hostname_command')!.location,
        );
      }
    }
    const plugin = new RewriteTagFilter(
      rules,
      host,
      removeTag,
      p.capitalize_regex_backreference,
      p.emit_mode === 'batch',
      router,
      ctx,
    );
    checkLoops(plugin, rules, router.match ?? el, router, ctx);
    return plugin;
  },
} satisfies PluginDescriptor<OutputPlugin, typeof schema>;
