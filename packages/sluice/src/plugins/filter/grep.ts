import { scanEntries } from '../../codec/msgpack-scan.ts';
import { rubyToS } from '../../codec/ruby-to-s.ts';
import { type ConfigElement, param } from '../../config/ast.ts';
import { defineParams, defineSchema, type Resolved } from '../../config/schema.ts';
import { type Entry, EventBatch, type EventRecord } from '../../core/batch.ts';
import { BatchBuilder } from '../../core/batch-builder.ts';
import { ConfigError, type SourceLocation } from '../../core/errors.ts';
import type { FilterPlugin, PluginDescriptor } from '../../core/plugin.ts';
import { createRecordAccessor, type RecordAccessor } from '../../core/record-accessor.ts';
import { rubyRegexp } from '../../shared/parse/ruby-regexp.ts';

// Fluentd's filter_grep (lib/fluent/plugin/filter_grep.rb), same semantics:
// - top-level <regexp> sections and regexpN are ANDed: every one must match;
// - top-level <exclude> sections and excludeN are ORed: any match drops the event;
// - <and> groups: all their <regexp> must match / drop when all their <exclude> match;
// - <or> groups: at least one <regexp> must match / drop when any <exclude> matches;
// - the value is stringified as Ruby's to_s would (a missing key is the empty string).

const conditionParams = defineParams({
  key: {
    type: 'string',
    required: true,
    description: 'The field to test: a key, or a record accessor such as $.kubernetes.labels.app.',
  },
  pattern: {
    type: 'regexp',
    required: true,
    description: 'The regular expression, /.../ with optional i and m flags (Ruby syntax).',
  },
});

const condition = (what: string) => ({ description: what, multi: true as const, params: conditionParams });

const group = (what: string) => ({
  description: what,
  multi: true as const,
  sections: {
    regexp: condition('A condition of the group.'),
    exclude: condition('An exclusion of the group.'),
  },
});

const legacy: Record<string, { type: 'string'; default: null; description: string; deprecated: string }> = {};
for (let i = 1; i <= 20; i++) {
  legacy[`regexp${i}`] = {
    type: 'string',
    default: null,
    description: "Deprecated: 'KEY PATTERN', kept only if matching. Use <regexp>.",
    deprecated: 'use <regexp>',
  };
  legacy[`exclude${i}`] = {
    type: 'string',
    default: null,
    description: "Deprecated: 'KEY PATTERN', dropped if matching. Use <exclude>.",
    deprecated: 'use <exclude>',
  };
}

const schema = defineSchema({
  params: defineParams(legacy),
  sections: {
    regexp: condition('Keep only events whose field matches (several <regexp> must all match).'),
    exclude: condition('Drop events whose field matches (any <exclude> drops).'),
    and: group('A group of conditions that must all hold.'),
    or: group('A group of conditions of which one must hold.'),
  },
});

type GrepConfig = Resolved<typeof schema>;
type Condition = GrepConfig['sections']['regexp'][number];

interface Expression {
  key: RecordAccessor;
  pattern: RegExp;
}

function matches(e: Expression, record: EventRecord): boolean {
  e.pattern.lastIndex = 0;
  return e.pattern.test(rubyToS(e.key.get(record)));
}

function compilePattern(text: string, where: SourceLocation): RegExp {
  try {
    return rubyRegexp(text);
  } catch (e) {
    throw new ConfigError(`invalid regexp ${JSON.stringify(text)}: ${(e as Error).message}`, where);
  }
}

/** A `<regexp>`/`<exclude>` section's expression; the pattern keeps Ruby's flags and anchors. */
function expression(sec: Condition): Expression {
  const el = sec.element;
  const p = param(el, 'pattern')!;
  return {
    key: createRecordAccessor(sec.params.key, param(el, 'key')?.location ?? el.location),
    pattern: compilePattern(p.value, p.location),
  };
}

function legacyExpression(name: string, value: string, where: SourceLocation): [string, Expression] {
  const i = value.indexOf(' ');
  if (i < 0) throw new ConfigError(`${name} does not contain 2 parameters`, where);
  const key = value.slice(0, i);
  return [key, { key: createRecordAccessor(key, where), pattern: compilePattern(value.slice(i + 1), where) }];
}

export interface GrepConditions {
  regexpAnd: Expression[];
  regexpOr: Expression[];
  excludeAnd: Expression[];
  excludeOr: Expression[];
}

/** Builds the four condition lists with Fluentd's duplicate-key checks. */
export function buildConditions(config: GrepConfig): GrepConditions {
  const el: ConfigElement = config.element;
  const regexpAnd = new Map<string, Expression>();
  const regexpOr = new Map<string, Expression>();
  const excludeAnd = new Map<string, Expression>();
  const excludeOr = new Map<string, Expression>();
  const put = (
    m: Map<string, Expression>,
    key: string,
    e: Expression,
    msg: string,
    where: SourceLocation,
  ) => {
    if (m.has(key)) throw new ConfigError(msg, where);
    m.set(key, e);
  };
  for (let i = 1; i <= 20; i++) {
    for (const [kind, target] of [
      ['regexp', regexpAnd],
      ['exclude', excludeOr],
    ] as const) {
      const p = param(el, `${kind}${i}`);
      if (!p) continue;
      const [key, e] = legacyExpression(`${kind}${i}`, p.value, p.location);
      put(target, key, e, `${kind}${i} contains a duplicated key, ${key}`, p.location);
    }
  }
  for (const s of config.sections.regexp)
    put(regexpAnd, s.params.key, expression(s), `Duplicate key: ${s.params.key}`, s.element.location);
  for (const s of config.sections.exclude)
    put(excludeOr, s.params.key, expression(s), `Duplicate key: ${s.params.key}`, s.element.location);
  for (const [name, regexps, excludes] of [
    ['and', regexpAnd, excludeAnd],
    ['or', regexpOr, excludeOr],
  ] as const) {
    for (const g of config.sections[name]) {
      const rs = g.sections.regexp;
      const xs = g.sections.exclude;
      if (rs.length > 0 && xs.length > 0) {
        throw new ConfigError(`Do not specify both <regexp> and <exclude> in <${name}>`, g.element.location);
      }
      for (const s of rs)
        put(
          regexps,
          s.params.key,
          expression(s),
          `Duplicate key in <${name}>: ${s.params.key}`,
          s.element.location,
        );
      for (const s of xs)
        put(
          excludes,
          s.params.key,
          expression(s),
          `Duplicate key in <${name}>: ${s.params.key}`,
          s.element.location,
        );
    }
  }
  return {
    regexpAnd: [...regexpAnd.values()],
    regexpOr: [...regexpOr.values()],
    excludeAnd: [...excludeAnd.values()],
    excludeOr: [...excludeOr.values()],
  };
}

/** True when the event is kept. */
export function compileGrep(c: GrepConditions): (record: EventRecord) => boolean {
  const { regexpAnd, regexpOr, excludeAnd, excludeOr } = c;
  return (r) => {
    for (const e of regexpAnd) if (!matches(e, r)) return false;
    if (regexpOr.length > 0 && !regexpOr.some((e) => matches(e, r))) return false;
    if (excludeAnd.length > 0 && excludeAnd.every((e) => matches(e, r))) return false;
    for (const e of excludeOr) if (matches(e, r)) return false;
    return true;
  };
}

const descriptor: PluginDescriptor<FilterPlugin, typeof schema> = {
  kind: 'filter',
  type: 'grep',
  description: 'Keeps or drops events by regular expressions on their fields (Fluentd filter_grep).',
  schema,
  create(config, ctx) {
    const c = buildConditions(config);
    const keep = compileGrep(c);
    if (config.sections.regexp.length > 1)
      ctx.logger.info("Top level multiple <regexp> is interpreted as 'and' condition");
    if (config.sections.exclude.length > 1)
      ctx.logger.info("Top level multiple <exclude> is interpreted as 'or' condition");
    return {
      filter(batch) {
        const entries = batch.entries();
        // Find the first dropped event; until then nothing needs rebuilding.
        let i = 0;
        while (i < entries.length && keep(entries[i]!.record)) i++;
        if (i === entries.length) return batch;
        // Copy the kept entries' bytes as they are: no record is re-encoded.
        const starts: number[] = [];
        scanEntries(batch.bytes, starts);
        starts.push(batch.bytes.length);
        const kept: Entry[] = entries.slice(0, i);
        const out = new BatchBuilder(batch.bytes.length);
        if (i > 0) out.addEntryBytes(batch.bytes.subarray(0, starts[i]), i);
        for (i++; i < entries.length; i++) {
          const e = entries[i]!;
          if (!keep(e.record)) continue;
          kept.push(e);
          out.addEntryBytes(batch.bytes.subarray(starts[i], starts[i + 1]), 1);
        }
        if (kept.length === 0) return null;
        return new EventBatch(batch.tag, out.finish(), kept.length, kept);
      },
    };
  },
};

export { rubyToS };
export default descriptor;
