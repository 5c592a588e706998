import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EventTime, encode } from '@sluice/forward';
import { EventBatch, type EventRecord } from '../../../src/core/batch.ts';
import { BatchBuilder } from '../../../src/core/batch-builder.ts';
import { ConfigError } from '../../../src/core/errors.ts';
import type { FilterPlugin } from '../../../src/core/plugin.ts';
import grep from '../../../src/plugins/filter/grep.ts';
import { instantiate } from '../../../src/testing/context.ts';

/** A batch as an input would emit it: bytes only, nothing decoded yet. */
function packed(records: EventRecord[], tag = 'app.log'): EventBatch {
  const b = new BatchBuilder(64);
  records.forEach((r, i) => {
    b.addRaw(1000 + i, i, encode(r));
  });
  return b.take(tag);
}

function build(body: string): FilterPlugin {
  return instantiate(grep, `<filter **>\n@type grep\n${body}\n</filter>`).plugin;
}

async function kept(f: FilterPlugin, records: EventRecord[]): Promise<EventRecord[]> {
  const out = await f.filter(packed(records));
  return out ? out.entries().map((e) => e.record) : [];
}

const logs = [
  { message: 'WARN disk almost full', level: 'warn', host: 'web1' },
  { message: 'INFO started', level: 'info', host: 'web2' },
  { message: 'ERROR crash', level: 'error', host: 'db1' },
  { message: 'WARN slow query', level: 'warn', host: 'db1' },
];

describe('grep filter', () => {
  test('<regexp> keeps only matching events; several <regexp> must all match', async () => {
    assert.deepEqual(
      (await kept(build('<regexp>\nkey message\npattern /WARN/\n</regexp>'), logs)).map((r) => r.message),
      ['WARN disk almost full', 'WARN slow query'],
    );
    const both = build(
      '<regexp>\nkey message\npattern /WARN/\n</regexp>\n<regexp>\nkey host\npattern /^db/\n</regexp>',
    );
    assert.deepEqual(
      (await kept(both, logs)).map((r) => r.message),
      ['WARN slow query'],
    );
  });

  test('<exclude> drops matching events; several <exclude> drop when any matches', async () => {
    const f = build(
      '<exclude>\nkey level\npattern /info/\n</exclude>\n<exclude>\nkey host\npattern /web1/\n</exclude>',
    );
    assert.deepEqual(
      (await kept(f, logs)).map((r) => r.message),
      ['ERROR crash', 'WARN slow query'],
    );
  });

  test('<and> of excludes drops only when all match; <or> of regexps keeps when one matches', async () => {
    const and = build(
      '<and>\n<exclude>\nkey level\npattern /warn/\n</exclude>\n<exclude>\nkey host\npattern /db1/\n</exclude>\n</and>',
    );
    assert.deepEqual(
      (await kept(and, logs)).map((r) => r.message),
      ['WARN disk almost full', 'INFO started', 'ERROR crash'],
    );
    const or = build(
      '<or>\n<regexp>\nkey level\npattern /error/\n</regexp>\n<regexp>\nkey host\npattern /web2/\n</regexp>\n</or>',
    );
    assert.deepEqual(
      (await kept(or, logs)).map((r) => r.message),
      ['INFO started', 'ERROR crash'],
    );
  });

  test('<or> of excludes drops when any matches; <and> of regexps keeps only when all match', async () => {
    const or = build(
      '<or>\n<exclude>\nkey level\npattern /info/\n</exclude>\n<exclude>\nkey host\npattern /db1/\n</exclude>\n</or>',
    );
    assert.deepEqual(
      (await kept(or, logs)).map((r) => r.message),
      ['WARN disk almost full'],
    );
    const and = build(
      '<and>\n<regexp>\nkey level\npattern /warn/\n</regexp>\n<regexp>\nkey host\npattern /web/\n</regexp>\n</and>',
    );
    assert.deepEqual(
      (await kept(and, logs)).map((r) => r.message),
      ['WARN disk almost full'],
    );
  });

  test('legacy regexpN / excludeN "key pattern" parameters', async () => {
    const f = build('regexp1 message WARN\nexclude1 host web.+');
    assert.deepEqual(
      (await kept(f, logs)).map((r) => r.message),
      ['WARN slow query'],
    );
  });

  test('non-string values are matched as text; a missing key is the empty string (as Ruby nil.to_s)', async () => {
    const records = [{ code: 200 }, { code: 503 }, { code: true }, { other: 1 }, { code: null }];
    assert.deepEqual(await kept(build('<regexp>\nkey code\npattern /^5\\d\\d$/\n</regexp>'), records), [
      { code: 503 },
    ]);
    assert.deepEqual(await kept(build('<regexp>\nkey code\npattern /true/\n</regexp>'), records), [
      { code: true },
    ]);
    // /./ needs a character: the missing key and nil never match it ...
    assert.equal((await kept(build('<regexp>\nkey code\npattern /./\n</regexp>'), records)).length, 3);
    // ... while an empty-matching pattern does match them, exactly as in Fluentd.
    assert.deepEqual(await kept(build('<regexp>\nkey code\npattern /^$/\n</regexp>'), records), [
      { other: 1 },
      { code: null },
    ]);
  });

  test('record accessor keys reach nested fields', async () => {
    const records = [
      { k8s: { labels: { app: 'api' } } },
      { k8s: { labels: { app: 'web' } } },
      { k8s: 'flat' },
    ];
    const f = build('<regexp>\nkey $.k8s.labels.app\npattern /^api$/\n</regexp>');
    assert.deepEqual(await kept(f, records), [records[0]]);
    const g = build("<exclude>\nkey $['k8s']['labels']['app']\npattern /api/\n</exclude>");
    assert.deepEqual(await kept(g, records), [records[1], records[2]]);
  });

  test('Ruby regexp flags and anchors: /i ignores case, ^ matches at any line start', async () => {
    const f = build('<regexp>\nkey message\npattern /^warn/i\n</regexp>');
    assert.deepEqual(
      (await kept(f, [{ message: 'Warn x' }, { message: 'first\nWARN second' }, { message: 'no' }])).length,
      2,
    );
    const g = build('<regexp>\nkey message\npattern /\\Awarn\\z/\n</regexp>');
    assert.deepEqual(await kept(g, [{ message: 'warn' }, { message: 'x\nwarn' }]), [{ message: 'warn' }]);
  });

  test('returns the same batch when nothing is dropped, null when everything is', async () => {
    const f = build('<exclude>\nkey message\npattern /DEBUG/\n</exclude>');
    const batch = packed(logs);
    assert.equal(await f.filter(batch), batch);
    assert.equal(await f.filter(packed([{ message: 'DEBUG a' }, { message: 'DEBUG b' }])), null);
  });

  test('a rebuilt batch carries the kept entries byte for byte, times included', async () => {
    const f = build('<regexp>\nkey level\npattern /warn|error/\n</regexp>');
    const out = (await f.filter(packed(logs)))!;
    assert.equal(out.count, 3);
    assert.equal(out.tag, 'app.log');
    // Decode from the bytes, not the cached entries.
    const again = EventBatch.fromPacked(out.tag, out.bytes).entries();
    assert.deepEqual(
      again.map((e) => [e.time.sec, e.time.nsec, e.record.message]),
      [
        [1000, 0, 'WARN disk almost full'],
        [1002, 2, 'ERROR crash'],
        [1003, 3, 'WARN slow query'],
      ],
    );
    assert.ok(again[0]!.time instanceof EventTime);
  });

  test('configuration errors name the problem and the line', () => {
    const cases: [string, RegExp][] = [
      [
        '<and>\n<regexp>\nkey a\npattern /x/\n</regexp>\n<exclude>\nkey b\npattern /y/\n</exclude>\n</and>',
        /Do not specify both <regexp> and <exclude> in <and>/,
      ],
      [
        '<regexp>\nkey a\npattern /x/\n</regexp>\n<regexp>\nkey a\npattern /y/\n</regexp>',
        /Duplicate key: a/,
      ],
      ['regexp1 message', /regexp1 does not contain 2 parameters/],
      [
        '<regexp>\nkey a\npattern /(unclosed/\n</regexp>',
        /test\.conf:5:\d+: .*invalid reg(ular expression|exp)/,
      ],
      ['<regexp>\nkey a\n</regexp>', /missing required parameter 'pattern'/],
      ['<regexp>\nkey $.a b\npattern /x/\n</regexp>', /whitespace character is not allowed in dot notation/],
      ['<regexp>\nkey a\npatern /x/\n</regexp>', /did you mean 'pattern'/],
    ];
    for (const [body, re] of cases) {
      assert.throws(
        () => build(body),
        (e: unknown) => e instanceof ConfigError && re.test(e.message),
        body,
      );
    }
  });
});
