// fluent-plugin-rewrite-tag-filter: its README examples, run through the engine (the
// rewritten events go back through the router), and the loop check.
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { afterEach, before, test } from 'node:test';
import { EventTime } from '@sluice/forward';
import pino from 'pino';
import { EventBatch, type EventRecord } from '../../../src/core/batch.ts';
import { Engine } from '../../../src/engine/engine.ts';
import { captured, recordsOf, registerTestPlugins, resetCapture } from '../../helpers/capture.ts';

before(() => registerTestPlugins());
afterEach(() => resetCapture());

const T = new EventTime(1_700_000_000, 5);

async function engine(conf: string, logs?: string[]): Promise<Engine> {
  const logger = logs
    ? pino({ level: 'warn' }, { write: (l: string) => logs.push(JSON.parse(l).msg as string) })
    : pino({ level: 'silent' });
  const e = await Engine.fromText(conf, { logger });
  await e.start();
  return e;
}

async function send(e: Engine, tag: string, ...records: EventRecord[]): Promise<void> {
  await e.emit(
    EventBatch.fromEntries(
      tag,
      records.map((record) => ({ time: T, record })),
    ),
  );
}

/** [tag, record] of everything a capture output received. */
function got(name: string): [string, EventRecord][] {
  return (captured.get(name) ?? []).flatMap((b) =>
    b.entries().map((x) => [b.tag, x.record] as [string, EventRecord]),
  );
}

test('README usage: clear static files and non-200, sites by domain, capitalized groups, catch-all', async () => {
  const e = await engine(`
<match td.apache.access>
  @type rewrite_tag_filter
  capitalize_regex_backreference yes
  <rule>
    key     path
    pattern /\\.(gif|jpe?g|png|pdf|zip)$/
    tag clear
  </rule>
  <rule>
    key     status
    pattern /^200$/
    tag     clear
    invert  true
  </rule>
  <rule>
    key     domain
    pattern /^.+\\.com$/
    tag     clear
    invert  true
  </rule>
  <rule>
    key     domain
    pattern /^maps\\.example\\.com$/
    tag     site.ExampleMaps
  </rule>
  <rule>
    key     domain
    pattern /^news\\.example\\.com$/
    tag     site.ExampleNews
  </rule>
  <rule>
    key     domain
    pattern /^(mail)\\.(example)\\.com$/
    tag     site.$2$1
  </rule>
  <rule>
    key     domain
    pattern /.+/
    tag     site.unmatched
  </rule>
</match>
<match site.*>
  @type test_capture
  name site
</match>
<match clear>
  @type test_capture
  name clear
</match>
`);
  try {
    await send(
      e,
      'td.apache.access',
      { domain: 'maps.example.com', path: '/logo.png', status: '200' },
      { domain: 'maps.example.com', path: '/', status: '404' },
      { domain: 'example.org', path: '/', status: '200' },
      { domain: 'maps.example.com', path: '/', status: '200' },
      { domain: 'news.example.com', path: '/', status: '200' },
      { domain: 'mail.example.com', path: '/', status: '200' },
      { domain: 'other.example.com', path: '/', status: '200' },
    );
    assert.equal(recordsOf('clear').length, 3);
    assert.deepEqual(
      got('site').map(([tag, r]) => [tag, r.domain]),
      [
        ['site.ExampleMaps', 'maps.example.com'],
        ['site.ExampleNews', 'news.example.com'],
        ['site.ExampleMail', 'mail.example.com'],
        ['site.unmatched', 'other.example.com'],
      ],
    );
    // The events keep their time; one emit per new tag (emit_mode batch).
    assert.deepEqual(captured.get('site')![0]!.entries()[0]!.time, T);
    assert.equal(captured.get('clear')!.length, 1);
  } finally {
    await e.stop();
  }
});

test('README: a record without the key matches no plain rule; an inverted never-matching rule catches all', async () => {
  const e = await engine(`
<match in>
  @type rewrite_tag_filter
  <rule>
    key     domain
    pattern /.+/
    tag     site.known
  </rule>
  <rule>
    key     domain
    pattern /(?!)/
    invert  true
    tag     site.unmatched
  </rule>
</match>
<match site.**>
  @type test_capture
  name out
</match>
`);
  try {
    await send(e, 'in', { domain: 'a.com' }, { other: 1 }, { domain: '' });
    assert.deepEqual(
      got('out').map(([tag]) => tag),
      ['site.known', 'site.unmatched', 'site.unmatched'],
    );
  } finally {
    await e.stop();
  }
});

test('README: nested keys ($.a.b and bracket notation) with $1.${tag}', async () => {
  for (const key of ['$.kubernetes.namespace_name', "$['kubernetes']['namespace_name']"]) {
    const e = await engine(`
<match kubernetes.**>
  @type rewrite_tag_filter
  <rule>
    key ${key}
    pattern ^(.+)$
    tag $1.\${tag}
  </rule>
</match>
<match default.**>
  @type test_capture
  name ns
</match>
`);
    try {
      await send(e, 'kubernetes.var.log', { kubernetes: { namespace_name: 'default' } });
      assert.deepEqual(
        got('ns').map(([tag]) => tag),
        ['default.kubernetes.var.log'],
      );
    } finally {
      await e.stop();
      resetCapture();
      registerTestPlugins();
    }
  }
});

test('README placeholders: remove_tag_prefix, remove_tag_regexp, ${hostname}, hostname_command, ${tag_parts[N]}', async () => {
  const cases: [string, string, string, EventRecord][] = [
    ['remove_tag_prefix apache', 'rewritten.${tag}.$2$1', 'apache.access', { domain: 'mail.example.com' }],
    [
      'remove_tag_regexp /^apache\\./',
      'rewritten.${tag}.$2$1',
      'apache.access',
      { domain: 'mail.example.com' },
    ],
    [
      'remove_tag_regexp /^input\\.(apache|nginx)\\./',
      'http.${tag}',
      'input.nginx.access.log',
      { domain: 'x' },
    ],
    ['', 'rewritten.$2$1.${hostname}', 'apache.access', { domain: 'mail.example.com' }],
    [
      'hostname_command echo node-7.example',
      'rewritten.$2$1.__HOSTNAME__',
      'apache.access',
      { domain: 'mail.example.com' },
    ],
    ['', 'rewritten.${tag_parts[1]}.__TAG_PARTS[2]__', 'app.game.pool.activity', { domain: 'x' }],
  ];
  const want = [
    'rewritten.access.examplemail',
    'rewritten.access.examplemail',
    'http.access.log',
    `rewritten.examplemail.${hostname()}`,
    'rewritten.examplemail.node-7.example',
    'rewritten.game.pool',
  ];
  for (const [i, [opt, tag, from, record]] of cases.entries()) {
    const e = await engine(`
<match ${from}>
  @type rewrite_tag_filter
  ${opt}
  <rule>
    key     domain
    pattern ^(?:(mail)\\.(example)\\.com|.+)$
    tag     ${tag}
  </rule>
</match>
<match **>
  @type test_capture
  name all
</match>
`);
    try {
      await send(e, from, record);
      assert.deepEqual(
        got('all').map(([t]) => t),
        [want[i]],
        `${opt} ${tag}`,
      );
    } finally {
      await e.stop();
      resetCapture();
      registerTestPlugins();
    }
  }
});

test('README altering labels: a rule with label sends to that label', async () => {
  const e = await engine(`
<match apache.access>
  @type rewrite_tag_filter
  <rule>
    key     domain
    pattern ^www\\.example\\.com$
    tag     web.\${tag}
  </rule>
  <rule>
    key     domain
    pattern ^(.*)\\.example\\.com$
    tag     other.$1
    label   other
  </rule>
</match>
<match web.**>
  @type test_capture
  name web
</match>
<label other>
  <match other.**>
    @type test_capture
    name other
  </match>
</label>
`);
  try {
    await send(e, 'apache.access', { domain: 'www.example.com' }, { domain: 'api.example.com' });
    assert.deepEqual(
      got('web').map(([t]) => t),
      ['web.apache.access'],
    );
    assert.deepEqual(
      got('other').map(([t]) => t),
      ['other.api'],
    );
  } finally {
    await e.stop();
  }
});

test('inside a <label>, rewritten events go back through that label', async () => {
  const e = await engine(`
<source>
  @type test_input
  tag x
  @label @APP
</source>
<label @APP>
  <match app>
    @type rewrite_tag_filter
    <rule>
      key level
      pattern ^(\\w+)$
      tag app.$1
    </rule>
  </match>
  <match app.*>
    @type test_capture
    name app
  </match>
</label>
`);
  try {
    await e.emit(EventBatch.single('app', T, { level: 'error' }), '@APP');
    assert.deepEqual(
      got('app').map(([t]) => t),
      ['app.error'],
    );
  } finally {
    await e.stop();
  }
});

test('the emit resolves only once the outputs the rewritten events reached accepted them', async () => {
  const { gates } = await import('../../helpers/capture.ts');
  let release!: () => void;
  gates.set('slow', () => new Promise<void>((r) => (release = r)));
  const e = await engine(`
<match in>
  @type rewrite_tag_filter
  <rule>
    key k
    pattern .
    tag out
  </rule>
</match>
<match out>
  @type test_capture
  name slow
</match>
`);
  try {
    let done = false;
    const p = send(e, 'in', { k: 'v' }).then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(done, false);
    release();
    await p;
    assert.equal(recordsOf('slow').length, 1);
  } finally {
    await e.stop();
  }
});

test('configuration errors: no rule, rewriteruleN, duplicated rules, ranges of tag_parts, unknown label', async () => {
  const bad: [string, RegExp][] = [
    ['', /missing rewriterules/],
    [
      'rewriterule1 domain ^(.+)$ x\n<rule>\nkey a\npattern b\ntag c\n</rule>',
      /rewriterule<num>" support has been dropped/,
    ],
    [
      '<rule>\nkey a\npattern b\ntag c\n</rule>\n<rule>\nkey a\npattern b\ntag d\n</rule>',
      /duplicated rewriterules/,
    ],
    ['<rule>\nkey a\npattern b\ntag ${tag_parts[0..2]}\n</rule>', /does not support range/],
    ['<rule>\nkey a\npattern b\ntag c\nlabel @NOPE\n</rule>', /no such <label>/],
    ['remove_tag_prefix a\nremove_tag_regexp /b/\n<rule>\nkey a\npattern b\ntag c\n</rule>', /exclusive/],
  ];
  for (const [body, re] of bad) {
    await assert.rejects(
      Engine.fromText(`<match in>\n@type rewrite_tag_filter\n${body}\n</match>\n`, {
        logger: pino({ level: 'silent' }),
      }),
      re,
      body,
    );
  }
});

test('a rule whose events would come back to the same <match> and be rewritten for ever is refused at build', async () => {
  await assert.rejects(
    Engine.fromText(
      '<match **>\n@type rewrite_tag_filter\n<rule>\nkey level\npattern ^(.+)$\ntag $1.${tag}\n</rule>\n</match>\n',
      { logger: pino({ level: 'silent' }) },
    ),
    /inline\.conf:3:1: rewrite_tag_filter: the rule's tag '\$1\.\$\{tag\}' loops/,
  );
  // A label back to the same label, the tag unchanged: a loop too (the README's warning).
  await assert.rejects(
    Engine.fromText(
      '<label @U>\n<match **>\n@type rewrite_tag_filter\n<rule>\nkey a\npattern /(?!)/\ninvert true\ntag ${tag}\nlabel @U\n</rule>\n</match>\n</label>\n',
      { logger: pino({ level: 'silent' }) },
    ),
    /loops/,
  );
  // An earlier <match> takes the new tag: no loop.
  const ok = await Engine.fromText(
    '<match app.error>\n@type null\n</match>\n<match app.**>\n@type rewrite_tag_filter\n<rule>\nkey level\npattern error\ntag app.error\n</rule>\n</match>\n',
    { logger: pino({ level: 'silent' }) },
  );
  await ok.stop();
  // The tag comes back to this <match> unchanged: dropped there, as in Fluentd; warned.
  const logs: string[] = [];
  const e = await Engine.fromText(
    '<match app.**>\n@type rewrite_tag_filter\n<rule>\nkey level\npattern error\ntag app.error\n</rule>\n</match>\n<match app.error>\n@type null\n</match>\n',
    { logger: pino({ level: 'warn' }, { write: (l: string) => logs.push(JSON.parse(l).msg as string) }) },
  );
  await e.stop();
  assert.ok(
    logs.some((l) => /come back to this same <match app\.\*\*>.*dropped/.test(l)),
    logs.join('\n'),
  );
});

test('the loop check sees through copy: a rule in a <store> of the same <match>', async () => {
  await assert.rejects(
    Engine.fromText(
      '<match **>\n@type copy\n<store>\n@type rewrite_tag_filter\n<rule>\nkey level\npattern ^(.+)$\ntag $1.${tag}\n</rule>\n</store>\n<store>\n@type null\n</store>\n</match>\n',
      { logger: pino({ level: 'silent' }) },
    ),
    /loops/,
  );
});

test('@label on the <match> sends the rewritten events to that label; emit_mode record emits them one by one', async () => {
  const e = await engine(`
<match in>
  @type rewrite_tag_filter
  @label @OUT
  emit_mode record
  <rule>
    key k
    pattern ^(\\w+)$
    tag out.$1
  </rule>
</match>
<label @OUT>
  <match out.**>
    @type test_capture
    name out
  </match>
</label>
`);
  try {
    await send(e, 'in', { k: 'a' }, { k: 'a' }, { k: 'b' });
    assert.deepEqual(
      (captured.get('out') ?? []).map((b) => [b.tag, b.count]),
      [
        ['out.a', 1],
        ['out.a', 1],
        ['out.b', 1],
      ],
    );
  } finally {
    await e.stop();
  }
  await assert.rejects(
    Engine.fromText(
      '<match in>\n@type rewrite_tag_filter\n@label @NOPE\n<rule>\nkey a\npattern b\ntag c\n</rule>\n</match>\n',
      {
        logger: pino({ level: 'silent' }),
      },
    ),
    /@label @NOPE: no such <label>/,
  );
});

test("the plugin's own tests: simple, remove_tag_prefix with a dot, remove_tag_regexp, non matching, split by tag, short hostname", async () => {
  const { execSync } = await import('node:child_process');
  const cases: [string, string, [string, EventRecord][], string[]][] = [
    [
      'simple',
      `<rule>\nkey domain\npattern ^www\\.google\\.com$\ntag site.Google\n</rule>
<rule>\nkey domain\npattern ^news\\.google\\.com$\ntag site.GoogleNews\n</rule>
<rule>\nkey agent\npattern .* Mac OS X .*\ntag agent.MacOSX\n</rule>
<rule>\nkey agent\npattern (Googlebot|CustomBot)-([a-zA-Z]+)\ntag agent.$1-$2\n</rule>
<rule>\nkey domain\npattern ^(tagtest)\\.google\\.com$\ntag site.\${tag}.$1\n</rule>`,
      [
        [
          'input.access',
          {
            domain: 'www.google.com',
            path: '/foo/bar?key=value',
            agent: 'Googlebot',
            response_time: 1000000,
          },
        ],
        [
          'input.access',
          { domain: 'news.google.com', path: '/', agent: 'Googlebot-Mobile', response_time: 900000 },
        ],
        [
          'input.access',
          {
            domain: 'map.google.com',
            path: '/',
            agent: 'Macintosh; Intel Mac OS X 10_7_4',
            response_time: 900000,
          },
        ],
        [
          'input.access',
          {
            domain: 'labs.google.com',
            path: '/',
            agent: 'Mozilla/5.0 Googlebot-FooBar/2.1',
            response_time: 900000,
          },
        ],
        [
          'input.access',
          { domain: 'tagtest.google.com', path: '/', agent: 'Googlebot', response_time: 900000 },
        ],
        ['input.access', { domain: 'noop.example.com' }],
      ],
      [
        'site.Google',
        'site.GoogleNews',
        'agent.MacOSX',
        'agent.Googlebot-FooBar',
        'site.input.access.tagtest',
      ],
    ],
    [
      'remove_tag_prefix with dot',
      'remove_tag_prefix input.\n<rule>\nkey domain\npattern ^www\\.google\\.com$\ntag ${tag}\n</rule>',
      [['input.access', { domain: 'www.google.com' }]],
      ['access'],
    ],
    [
      'remove_tag_regexp',
      'remove_tag_regexp /^input\\.(apache|nginx)\\./\n<rule>\nkey domain\npattern ^www\\.google\\.com$\ntag rewritten.${tag}\n</rule>',
      [
        ['input.apache.access', { domain: 'www.google.com' }],
        ['input.nginx.access', { domain: 'www.google.com' }],
        ['input.tomcat.access', { domain: 'www.google.com' }],
      ],
      ['rewritten.access', 'rewritten.access', 'rewritten.input.tomcat.access'],
    ],
    [
      'non matching',
      '<rule>\nkey domain\npattern ^www\\..+$\ntag not_start_with_www\ninvert true\n</rule>\n<rule>\nkey domain\npattern ^www\\..+$\ntag start_with_www\n</rule>',
      [
        ['input.access', { domain: 'www.google.com' }],
        ['input.access', { path: '/' }],
        ['input.access', { domain: 'maps.google.com' }],
      ],
      ['start_with_www', 'not_start_with_www', 'not_start_with_www'],
    ],
    [
      'split by tag',
      `<rule>\nkey user_name\npattern ^Lynn Minmay$\ntag vip.\${tag_parts[1]}.remember_love\n</rule>
<rule>\nkey user_name\npattern ^Harlock$\ntag \${tag_parts[2]}.\${tag_parts[0]}.\${tag_parts[1]}\n</rule>
<rule>\nkey world\npattern ^(alice|chaos)$\ntag application.\${tag_parts[0]}.$1_server\n</rule>
<rule>\nkey world\npattern ^[a-z]+$\ntag application.\${tag_parts[1]}.future_server\n</rule>`,
      [
        ['game.production.api', { user_id: '10000', world: 'chaos', user_name: 'gamagoori' }],
        ['game.production.api', { user_id: '10001', world: 'chaos', user_name: 'sanageyama' }],
        ['game.production.api', { user_id: '10002', world: 'nehan', user_name: 'inumuta' }],
        ['game.production.api', { user_id: '77777', world: 'space', user_name: 'Lynn Minmay' }],
        ['game.production.api', { user_id: '99999', world: 'space', user_name: 'Harlock' }],
      ],
      [
        'application.game.chaos_server',
        'application.game.chaos_server',
        'application.production.future_server',
        'vip.production.remember_love',
        'api.game.production',
      ],
    ],
    [
      'short hostname',
      'remove_tag_prefix input\nhostname_command hostname -s\n<rule>\nkey domain\npattern ^www\\.google\\.com$\ntag ${hostname}\n</rule>',
      [['input.access', { domain: 'www.google.com' }]],
      [execSync('hostname -s', { encoding: 'utf8' }).trim()],
    ],
  ];
  for (const [name, rules, events, want] of cases) {
    const e = await engine(
      `<match input.** game.**>\n@type rewrite_tag_filter\n${rules}\n</match>\n<match **>\n@type test_capture\nname all\n</match>\n`,
    );
    try {
      for (const [tag, record] of events) await send(e, tag, record);
      assert.deepEqual(
        got('all').map(([t]) => t),
        want,
        name,
      );
    } finally {
      await e.stop();
      resetCapture();
      registerTestPlugins();
    }
  }
});
