// fluent-plugin-concat: its README examples through the engine, flush_interval and
// timeout_label, the flush at shutdown, and its configuration errors.
import assert from 'node:assert/strict';
import { afterEach, before, test } from 'node:test';
import { EventTime } from '@sluice/forward';
import pino from 'pino';
import { EventBatch, type EventRecord } from '../../../src/core/batch.ts';
import { HoldCounter, withHoldScope } from '../../../src/core/holds.ts';
import { Engine } from '../../../src/engine/engine.ts';
import { captured, gates, recordsOf, registerTestPlugins, resetCapture } from '../../helpers/capture.ts';

before(() => registerTestPlugins());
afterEach(() => resetCapture());

const silent = { logger: pino({ level: 'silent' }) };

async function engine(filter: string, extra = ''): Promise<Engine> {
  const e = await Engine.fromText(
    `<filter **>\n@type concat\n${filter}\n</filter>\n<match **>\n@type test_capture\nname out\n</match>\n${extra}`,
    silent,
  );
  await e.start();
  return e;
}

function at(sec: number): EventTime {
  return new EventTime(1_700_000_000 + sec, 0);
}

async function send(e: Engine, tag: string, records: EventRecord[], from = 0): Promise<void> {
  await e.emit(
    EventBatch.fromEntries(
      tag,
      records.map((record, i) => ({ time: at(from + i), record })),
    ),
  );
}

test('README: n_lines 10 joins every 10 records', async () => {
  const e = await engine('key message\nn_lines 10');
  try {
    await send(
      e,
      'docker.log',
      Array.from({ length: 25 }, (_, i) => ({ message: `l${i}` })),
    );
    assert.deepEqual(recordsOf('out'), [
      { message: Array.from({ length: 10 }, (_, i) => `l${i}`).join('\n') },
      { message: Array.from({ length: 10 }, (_, i) => `l${i + 10}`).join('\n') },
    ]);
    // The joined record has the time of the record that ended it (use_first_timestamp false).
    assert.deepEqual(captured.get('out')![0]!.entries()[0]!.time, at(9));
  } finally {
    await e.stop();
  }
});

test('README: multiline_start_regexp /^Start/; lines before a first start pass alone', async () => {
  const e = await engine('key message\nmultiline_start_regexp /^Start/\nuse_first_timestamp true');
  try {
    await send(e, 'docker.log', [
      { message: 'orphan' },
      { message: 'Start a', n: 1 },
      { message: '  at x' },
      { message: '  at y' },
      { message: 'Start b', n: 2 },
    ]);
    assert.deepEqual(recordsOf('out'), [{ message: 'orphan' }, { message: 'Start a\n  at x\n  at y', n: 1 }]);
    assert.deepEqual(captured.get('out')![0]!.entries()[1]!.time, at(1), 'use_first_timestamp');
  } finally {
    await e.stop();
  }
});

test('README: multiline_end_regexp /\\n$/ joins Docker JSON lines up to the one ending in a newline', async () => {
  const e = await engine('key message\nmultiline_end_regexp /\\n$/');
  try {
    await send(e, 'docker', [{ message: 'part one ' }, { message: 'part two\n' }, { message: 'whole\n' }]);
    assert.deepEqual(recordsOf('out'), [{ message: 'part one \npart two\n' }, { message: 'whole\n' }]);
  } finally {
    await e.stop();
  }
});

test('README: partial_key partial_message / partial_value true / separator "" (Docker partial messages)', async () => {
  const e = await engine('key log\npartial_key partial_message\npartial_value true\nseparator ""');
  try {
    await send(e, 'docker', [
      { log: 'abc', partial_message: 'true', container_id: 'c1' },
      { log: 'def', partial_message: 'true' },
      { log: 'ghi\n', partial_message: 'false' },
      { log: 'no key at all' },
    ]);
    assert.deepEqual(recordsOf('out'), [
      { log: 'abcdefghi\n', container_id: 'c1' },
      { log: 'no key at all' },
    ]);
  } finally {
    await e.stop();
  }
});

test('README: use_partial_metadata (docker-fluentd and docker-journald), parts joined by partial_ordinal', async () => {
  for (const [format, m] of [
    ['docker-fluentd', ['partial_message', 'partial_id', 'partial_ordinal', 'partial_last']],
    [
      'docker-journald',
      [
        'CONTAINER_PARTIAL_MESSAGE',
        'CONTAINER_PARTIAL_ID',
        'CONTAINER_PARTIAL_ORDINAL',
        'CONTAINER_PARTIAL_LAST',
      ],
    ],
  ] as const) {
    const e = await engine(
      `key log\nuse_partial_metadata true\npartial_metadata_format ${format}\nseparator ""`,
    );
    try {
      await send(e, 'docker', [
        { log: 'B', [m[0]]: 'true', [m[1]]: 'id1', [m[2]]: '2', [m[3]]: 'false' },
        { log: 'A', [m[0]]: 'true', [m[1]]: 'id1', [m[2]]: '1', [m[3]]: 'false' },
        { log: 'C', [m[0]]: 'true', [m[1]]: 'id1', [m[2]]: '3', [m[3]]: 'true' },
      ]);
      assert.deepEqual(recordsOf('out'), [{ log: 'BAC'.split('').sort().join('') }], format);
    } finally {
      await e.stop();
      resetCapture();
      registerTestPlugins();
    }
  }
});

test('README: multiline_end_regexp /\\\\n$/ with separator "" (Docker before 18.06: a literal \\n ends the line)', async () => {
  const e = await engine('key log\nmultiline_end_regexp /\\\\n$/\nseparator ""');
  try {
    await send(e, 'docker', [{ log: 'a' }, { log: 'b\\n' }]);
    assert.deepEqual(recordsOf('out'), [{ log: 'ab\\n' }]);
  } finally {
    await e.stop();
  }
});

test('README: containerd/cri in Kubernetes: use_partial_cri_logtag in @CONCAT, relabel to @OUTPUT', async () => {
  const e = await Engine.fromText(
    `<source>
  @type test_input
  tag k8s
  @label @CONCAT
</source>
<label @CONCAT>
  <filter k8s>
    @type concat
    key message
    use_partial_cri_logtag true
    partial_cri_logtag_key logtag
    partial_cri_stream_key stream
  </filter>
  <match k8s>
    @type relabel
    @label @OUTPUT
  </match>
</label>
<label @OUTPUT>
  <match>
    @type test_capture
    name out
  </match>
</label>
`,
    silent,
  );
  await e.start();
  try {
    await e.emit(
      EventBatch.fromEntries('k8s', [
        { time: at(0), record: { stream: 'stdout', logtag: 'P', message: 'This is first line', time: 't0' } },
        { time: at(1), record: { stream: 'stdout', logtag: 'F', message: 'This is last line', time: 't1' } },
      ]),
      '@CONCAT',
    );
    assert.deepEqual(recordsOf('out'), [{ message: 'This is first line\nThis is last line', time: 't0' }]);
  } finally {
    await e.stop();
  }
});

test('continuous_line_regexp and stream_identity_key', async () => {
  const e = await engine(
    'key message\nmultiline_start_regexp /^Start/\ncontinuous_line_regexp /^\\s+/\nstream_identity_key container',
  );
  try {
    await send(e, 'app', [
      { message: 'Start 1', container: 'a' },
      { message: 'Start 2', container: 'b' },
      { message: '  more 1', container: 'a' },
      { message: '  more 2', container: 'b' },
      { message: 'not continuous', container: 'a' },
    ]);
    assert.deepEqual(recordsOf('out'), [
      { message: 'Start 1\n  more 1', container: 'a' },
      { message: 'not continuous', container: 'a' },
    ]);
  } finally {
    await e.stop();
  }
  // b's group was flushed at stop (to @ERROR: no timeout_label), not lost
});

test('README timeout handling: flush_interval sends a group left open to timeout_label', async () => {
  const e = await Engine.fromText(
    `<filter **>
  @type concat
  key message
  multiline_start_regexp /^Start/
  flush_interval 1
  timeout_label @NORMAL
</filter>
<match **>
  @type relabel
  @label @NORMAL
</match>
<label @NORMAL>
  <match **>
    @type test_capture
    name normal
  </match>
</label>
`,
    silent,
  );
  const arrived = new Promise<void>((res) => gates.set('normal', () => res()));
  await e.start();
  try {
    await send(e, 'app', [{ message: 'Start x' }, { message: ' tail' }]);
    assert.deepEqual(recordsOf('normal'), []);
    await arrived;
    await new Promise((r) => setImmediate(r)); // the capture stores it once its gate returned
    assert.deepEqual(recordsOf('normal'), [{ message: 'Start x\n tail' }]);
  } finally {
    await e.stop();
  }
});

test('groups still open at shutdown are flushed (to timeout_label, else @ERROR), not lost', async () => {
  const e = await Engine.fromText(
    `<filter **>
  @type concat
  key message
  multiline_start_regexp /^Start/
  timeout_label @REST
</filter>
<match **>
  @type test_capture
  name out
</match>
<label @REST>
  <match **>
    @type test_capture
    name rest
  </match>
</label>
<label @ERROR>
  <match **>
    @type test_capture
    name error
  </match>
</label>
`,
    silent,
  );
  await e.start();
  await send(e, 'app', [{ message: 'Start x' }, { message: ' held' }]);
  assert.deepEqual(recordsOf('rest'), []);
  await e.stop();
  assert.deepEqual(recordsOf('rest'), [{ message: 'Start x\n held' }]);
  resetCapture();
  registerTestPlugins();
  const e2 = await Engine.fromText(
    '<filter **>\n@type concat\nkey message\nn_lines 3\n</filter>\n<match **>\n@type test_capture\nname out\n</match>\n<label @ERROR>\n<match **>\n@type test_capture\nname error\n</match>\n</label>\n',
    silent,
  );
  await e2.start();
  await send(e2, 'app', [{ message: 'a' }]);
  await e2.stop();
  assert.deepEqual(recordsOf('error'), [{ message: 'a' }]);
});

test('holds: a record kept by concat is held for the emitting input until it has gone on', async () => {
  const e = await engine('key message\nmultiline_start_regexp /^Start/');
  try {
    let cleared = 0;
    const first = new HoldCounter(() => cleared++);
    await withHoldScope(first, () => send(e, 'app', [{ message: 'Start a' }, { message: ' b' }]));
    assert.equal(first.pending, 2, 'both records of the open group are held');
    const second = new HoldCounter();
    await withHoldScope(second, () => send(e, 'app', [{ message: 'Start c' }]));
    assert.equal(first.pending, 0, 'released: the group went on in the second batch');
    assert.equal(cleared, 1);
    assert.equal(second.pending, 1);
  } finally {
    await e.stop();
  }
});

test('configuration errors, as the plugin words them', async () => {
  const bad: [string, RegExp][] = [
    ['key m', /Either n_lines, multiline_start_regexp, .* or use_partial_cri_logtag is required/],
    [
      'key m\nn_lines 2\nmultiline_start_regexp /a/',
      /n_lines and multiline_start_regexp\/multiline_end_regexp are exclusive/,
    ],
    ['key m\npartial_key p', /partial_value is required when partial_key is specified/],
    ['key m\nuse_partial_metadata true\npartial_key p\npartial_value t', /exclusive/],
    ['key m\nn_lines 2\ntimeout_label @NOPE', /no such <label>/],
  ];
  for (const [body, re] of bad) {
    await assert.rejects(
      Engine.fromText(
        `<filter **>\n@type concat\n${body}\n</filter>\n<match **>\n@type null\n</match>\n`,
        silent,
      ),
      re,
      body,
    );
  }
});

test("buffer_overflow_method ignore, truncate, drop and new (the plugin's own overflow tests)", async () => {
  const messages = [
    ['start', 'true'],
    [' message 1', 'true'],
    [' message 2', 'true'],
    ['end', 'false'],
    ['start', 'true'],
    [' message 3', 'true'],
    [' message 4', 'true'],
    ['end', 'false'],
  ].map(([message, partial]) => ({ container_id: '1', message, partial_message: partial }));
  const cases: [string, number, string[]][] = [
    ['ignore', 10, ['start\n message 1\n message 2\nend', 'start\n message 3\n message 4\nend']],
    ['truncate', 60, ['start', ' message 2', 'start', ' message 4']],
    ['drop', 100, ['end', 'end']],
    ['new', 90, ['start', ' message 1', ' message 2', 'end', 'start', ' message 3', ' message 4', 'end']],
  ];
  for (const [method, limit, want] of cases) {
    const e = await engine(
      `key message\npartial_key partial_message\npartial_value true\nkeep_partial_key false\nbuffer_limit_size ${limit}\nbuffer_overflow_method ${method}`,
    );
    try {
      await send(e, 'docker', messages);
      assert.deepEqual(
        recordsOf('out'),
        want.map((message) => ({ container_id: '1', message })),
        method,
      );
    } finally {
      await e.stop();
      resetCapture();
      registerTestPlugins();
    }
  }
});

test("the plugin's own regexp-mode and CRI-O tests", async () => {
  const c1 = (message: string | null) => ({ container_id: '1', message });
  const c2 = (message: string) => ({ container_id: '2', message });
  const h = (message: string) => ({ host: 'example.com', message });
  const cases: [string, string, EventRecord[], EventRecord[]][] = [
    [
      'multiline_end_regexp',
      'stream_identity_key container_id\nmultiline_start_regexp /^start/\nmultiline_end_regexp /^end/',
      [
        c1('start'),
        c2('start'),
        c1('  message 1'),
        c2('  message 3'),
        c1('  message 2'),
        c2('  message 4'),
        c1('end'),
        c2('end'),
      ],
      [c1('start\n  message 1\n  message 2\nend'), c2('start\n  message 3\n  message 4\nend')],
    ],
    [
      'multiline with single line logs',
      'stream_identity_key container_id\nmultiline_start_regexp /^start/\nmultiline_end_regexp /^end/',
      [
        c1('single1'),
        c2('single2'),
        c1('start'),
        c2('start'),
        c1('  message 1'),
        c2('  message 3'),
        c1('  message 2'),
        c2('  message 4'),
        c1('end'),
        c2('end'),
        c1('single3'),
        c2('single4'),
      ],
      [
        c1('single1'),
        c2('single2'),
        c1('start\n  message 1\n  message 2\nend'),
        c2('start\n  message 3\n  message 4\nend'),
        c1('single3'),
        c2('single4'),
      ],
    ],
    [
      'multiline_start_regexp and multiline_end_regexp',
      'stream_identity_key container_id\nmultiline_start_regexp /^start/\nmultiline_end_regexp /end$/',
      [c1('start message end'), c1('start'), c1(' message1'), c1(' message2'), c1('end')],
      [c1('start message end'), c1('start\n message1\n message2\nend')],
    ],
    [
      'multiline_end_regexp only',
      'stream_identity_key container_id\nmultiline_end_regexp /\\n$/',
      [
        h('{"key1": "value1","key2": "value2"}\n'),
        h('{"key3": "value3","key4": "value4",'),
        h('"key5": "value5","key6": "value6",'),
        h('"key7": "value7","key8": "value8"}\n'),
        h('{"key9": "value9","key0": "value0",'),
        h('"key1": "value1","key2": "value2"}\n'),
      ],
      [
        h('{"key1": "value1","key2": "value2"}\n'),
        h(
          '{"key3": "value3","key4": "value4",\n"key5": "value5","key6": "value6",\n"key7": "value7","key8": "value8"}\n',
        ),
        h('{"key9": "value9","key0": "value0",\n"key1": "value1","key2": "value2"}\n'),
      ],
    ],
    [
      'multiline_start_regexp and multiline_end_regexp #14',
      'stream_identity_key container_id\nmultiline_start_regexp /^start/\nmultiline_end_regexp /end$/',
      [
        c1('start message1 end'),
        c1('start'),
        c1(' message3'),
        c1('start message2 end'),
        c1('start'),
        c1(' message4'),
        c1('end'),
      ],
      [
        c1('start message1 end'),
        c1('start\n message3'),
        c1('start message2 end'),
        c1('start\n message4\nend'),
      ],
    ],
    [
      'value is nil',
      'stream_identity_key container_id\nmultiline_start_regexp /^start/\ncontinuous_line_regexp /^ /\nflush_interval 1s',
      [
        c1('start'),
        c1('  message 1'),
        c1('  message 2'),
        c1(null),
        c1('single line message 1'),
        c1('start'),
        c1('  message 3'),
        c1('  message 4'),
        c1('single line message 2'),
      ],
      [
        c1('start\n  message 1\n  message 2'),
        c1(null),
        c1('single line message 1'),
        c1('start\n  message 3\n  message 4'),
        c1('single line message 2'),
      ],
    ],
    [
      'CRI-O style events',
      'use_partial_cri_logtag true\npartial_cri_logtag_key logtag',
      [
        { stream: 'stdout', logtag: 'F', message: 'The content of the log entry 1' },
        { stream: 'stdout', logtag: 'P', message: 'First line of log entry 2' },
        { stream: 'stdout', logtag: 'P', message: 'Second line of the log entry 2' },
        { stream: 'stderr', logtag: 'F', message: 'Last line of the log entry 2' },
      ],
      [
        { message: 'The content of the log entry 1' },
        {
          message: 'First line of log entry 2\nSecond line of the log entry 2\nLast line of the log entry 2',
        },
      ],
    ],
  ];
  for (const [name, conf, input, want] of cases) {
    const e = await engine(`key message\n${conf}`);
    try {
      await send(e, 'app', input);
      assert.deepEqual(recordsOf('out'), want, name);
    } finally {
      await e.stop();
      resetCapture();
      registerTestPlugins();
    }
  }
});
