import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, test } from 'node:test';
import { EventTime, encode } from '@sluice/forward';
import { EventBatch, type EventRecord } from '../../../src/core/batch.ts';
import { BatchBuilder } from '../../../src/core/batch-builder.ts';
import { ConfigError } from '../../../src/core/errors.ts';
import type { FilterPlugin } from '../../../src/core/plugin.ts';
import rt from '../../../src/plugins/filter/record_transformer/index.ts';
import { instantiate, type TestContext, testContext } from '../../../src/testing/context.ts';

function packed(records: EventRecord[], tag: string): EventBatch {
  const b = new BatchBuilder(64);
  records.forEach((r, i) => {
    b.addRaw(1682675863 + i, 291989606, encode(r));
  });
  return b.take(tag);
}

function build(body: string, ctx?: TestContext): FilterPlugin {
  return instantiate(rt, `<filter **>\n@type record_transformer\n${body}\n</filter>`, ctx).plugin;
}

async function run(
  f: FilterPlugin,
  records: EventRecord[],
  tag = 'app.web.access',
): Promise<EventBatch | null> {
  const out = await f.filter(packed(records, tag));
  // Always read the result back from its bytes: what an output would receive.
  return out && EventBatch.fromPacked(out.tag, out.bytes);
}

async function records(f: FilterPlugin, input: EventRecord[], tag?: string): Promise<EventRecord[]> {
  return (await run(f, input, tag))?.entries().map((e) => e.record) ?? [];
}

/** Ruby's Time#to_s of an epoch second, computed independently with Date. */
function rubyTimeToS(sec: number): string {
  const d = new Date(sec * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${off < 0 ? '-' : '+'}${p(Math.floor(Math.abs(off) / 60))}${p(Math.abs(off) % 60)}`;
}

describe('record_transformer filter', () => {
  test('adds fields from tag, hostname, time and record placeholders (Fluentd test case)', async () => {
    const f = build(
      '<record>\nhostname ${hostname}\ntag ${tag}\ntime ${time}\nmessage ${hostname} ${tag_parts[-1]} ${record["message"]}\n</record>',
    );
    const out = await records(f, [{ message: '1' }, { message: '2' }], 'test.tag');
    assert.deepEqual(out[0], {
      message: `${hostname()} tag 1`,
      hostname: hostname(),
      tag: 'test.tag',
      time: rubyTimeToS(1682675863),
    });
    assert.equal(out[1]!.message, `${hostname()} tag 2`);
    assert.equal(out[1]!.time, rubyTimeToS(1682675864));
  });

  test('tag_parts, tag_prefix and tag_suffix with positive and negative indexes', async () => {
    const f = build(
      '<record>\np0 ${tag_parts[0]}\npm1 ${tag_parts[-1]}\npre1 ${tag_prefix[1]}\nprem1 ${tag_prefix[-1]}\nsuf1 ${tag_suffix[1]}\nsufm3 ${tag_suffix[-3]}\n</record>',
    );
    const [r] = await records(f, [{}], 'a.b.c');
    assert.deepEqual(r, { p0: 'a', pm1: 'c', pre1: 'a.b', prem1: 'a.b.c', suf1: 'b.c', sufm3: 'a.b.c' });
  });

  test('auto_typecast keeps the type of a lone placeholder; off, everything is text', async () => {
    const body = '<record>\nn ${record["count"]}\nm ${record["meta"]}\ns n=${record["count"]}\n</record>';
    const [typed] = await records(build(body), [{ count: 42, meta: { a: 1 } }]);
    assert.deepEqual([typed!.n, typed!.m, typed!.s], [42, { a: 1 }, 'n=42']);
    const [text] = await records(build(`auto_typecast false\n${body}`), [{ count: 42, meta: { a: 1 } }]);
    assert.deepEqual([text!.n, text!.m], ['42', '{"a":1}']);
  });

  test('v0.12 bare ${key} reads a record field; reserved names stay placeholders', async () => {
    const f = build('<record>\nmsg got ${message} from ${tag}\ncopy ${message}\n</record>');
    const [r] = await records(f, [{ message: 'hi', tag: 'not-this' }], 'x.y');
    assert.equal(r!.msg, 'got hi from x.y');
    assert.equal(r!.copy, 'hi');
  });

  test('unknown placeholders become empty text, or null when alone (as Fluentd)', async () => {
    const ctx = testContext();
    const f = build(
      '<record>\na x${record["missing"]}y\nb ${record["missing"]}\nc ${tag_parts[9]}\nd v__NOPE__w\n</record>',
      ctx,
    );
    const [r] = await records(f, [{ keep: 1 }]);
    assert.deepEqual(r, { keep: 1, a: 'xy', b: null, c: null, d: 'vw' });
  });

  test('JSON hash and array values are templates too, keys included', async () => {
    const f = build(
      '<record>\nnested {"from_${tag_parts[0]}": ["${record[\\"n\\"]}", "n=${record[\\"n\\"]}"]}\nplain [1, 2]\n</record>',
    );
    const [r] = await records(f, [{ n: 7 }], 'svc.x');
    assert.deepEqual(r!.nested, { from_svc: [7, 'n=7'] });
    assert.deepEqual(r!.plain, [1, 2]);
  });

  test('renew_record with keep_keys starts from an empty record', async () => {
    const f = build('renew_record true\nkeep_keys a,missing\n<record>\nb added\n</record>');
    assert.deepEqual(await records(f, [{ a: 1, z: 2 }]), [{ a: 1, b: 'added' }]);
  });

  test('remove_keys runs last, removes nested keys and leaves the input batch untouched', async () => {
    const f = build('remove_keys $.meta.secret,plain\n<record>\nplain ${record["plain"]}\n</record>');
    const input = packed([{ plain: 1, meta: { secret: 's', keep: 'k' } }], 'a');
    const before = input.entries().map((e) => structuredClone(e.record));
    const out = (await f.filter(input))!;
    assert.deepEqual(EventBatch.fromPacked('a', out.bytes).entries()[0]!.record, { meta: { keep: 'k' } });
    assert.deepEqual(
      input.entries().map((e) => e.record),
      before,
    );
  });

  test('renew_time_key sets the event time from a unix time field', async () => {
    const f = build('renew_time_key t\n<record>\nt ${record["ts"]}\n</record>');
    const out = (await run(f, [{ ts: 1700000000.25 }, { ts: '1600000000' }, { other: 1 }]))!.entries();
    assert.deepEqual(
      out.map((e) => [e.time.sec, e.time.nsec]),
      [
        [1700000000, 250000000],
        [1600000000, 0],
        // As Fluentd: the field exists with a nil value, and nil.to_f is 0.
        [0, 0],
      ],
    );
    assert.ok(out[0]!.time instanceof EventTime);
    // Without the field, the time is left alone.
    const g = build('renew_time_key t');
    const kept = (await run(g, [{ other: 1 }, { t: 5 }]))!.entries();
    assert.deepEqual(
      kept.map((e) => [e.time.sec, e.time.nsec]),
      [
        [1682675863, 291989606],
        [5, 0],
      ],
    );
  });

  test('an event that cannot be transformed goes to @ERROR; the others pass', async () => {
    const ctx = testContext();
    const f = build('renew_time_key t', ctx);
    const out = await records(f, [{ t: 1 }, { t: { not: 'a time' } }, { t: 3 }]);
    assert.deepEqual(out, [{ t: 1 }, { t: 3 }]);
    assert.equal(ctx.errors.length, 1);
    assert.deepEqual(ctx.errors[0]!.record, { t: { not: 'a time' } });
    assert.match(ctx.errors[0]!.error.message, /renew_time_key/);
  });

  test('adding fields to records of any size keeps every original field (map header growth)', async () => {
    const big: EventRecord = {};
    for (let i = 0; i < 14; i++) big[`k${i}`] = i;
    const f = build('<record>\nadded1 ${tag}\nadded2 ${record["k0"]}\n</record>');
    // 14 + 2 keys crosses the fixmap limit; the middle record overwrites a key.
    const out = await records(f, [big, { added1: 'old', k0: 'x' }, {}]);
    assert.deepEqual(out[0], { ...big, added1: 'app.web.access', added2: 0 });
    assert.deepEqual(out[1], { added1: 'app.web.access', k0: 'x', added2: 'x' });
    assert.deepEqual(out[2], { added1: 'app.web.access', added2: null });
    // A map32 header, as other msgpack encoders may write even for small maps.
    const map32 = Buffer.concat([
      Buffer.from([0xdf, 0, 0, 0, 2]),
      encode('k0'),
      encode(1),
      encode('z'),
      encode([1, 2]),
    ]);
    const b = new BatchBuilder(64);
    b.addRaw(1, 0, map32);
    const res = (await f.filter(b.take('t')))!;
    assert.deepEqual(EventBatch.fromPacked('t', res.bytes).entries()[0]!.record, {
      k0: 1,
      z: [1, 2],
      added1: 't',
      added2: 1,
    });
  });

  test('enable_ruby true is refused with an explanation; keep_keys needs renew_record', () => {
    assert.throws(
      () => build('enable_ruby true\n<record>\nx ${record["a"].upcase}\n</record>'),
      (e: unknown) =>
        e instanceof ConfigError &&
        /test\.conf:3:\d+: enable_ruby true is not supported: Sluice has no Ruby interpreter.*\$\{tag_parts\[N\]\}/.test(
          e.message,
        ),
    );
    assert.throws(
      () => build('keep_keys a'),
      (e: unknown) =>
        e instanceof ConfigError && /`renew_record` must be true to use `keep_keys`/.test(e.message),
    );
    assert.throws(
      () => build("remove_keys $['a'"),
      (e: unknown) => e instanceof ConfigError && /Incomplete bracket/.test(e.message),
    );
  });
});
