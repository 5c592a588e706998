import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfigText } from '../../src/config/parser.ts';
import { params, parse, shape, throwsAt, value } from './helpers.ts';

describe('directives and sections', () => {
  test('source, match, filter, label, system and worker with their arguments', () => {
    const root = parse(`
<system>
  workers 2
</system>
<source>
  @type forward
  @id in_fwd
  @label @APP
</source>
<filter app.**>
  @type grep
</filter>
<match app.** other.*>
  @type stdout
</match>
<label @APP>
  <match **>
    @type null
  </match>
</label>
<worker 0>
  <source>
    @type sample
  </source>
</worker>
<worker 1-3>
</worker>
`);
    assert.deepEqual(
      root.elements.map((e) => [e.name, e.arg]),
      [
        ['system', ''],
        ['source', ''],
        ['filter', 'app.**'],
        ['match', 'app.** other.*'],
        ['label', '@APP'],
        ['worker', '0'],
        ['worker', '1-3'],
      ],
    );
    assert.deepEqual(params(root.elements[1]), { '@type': 'forward', '@id': 'in_fwd', '@label': '@APP' });
    assert.equal(root.elements[4]!.elements[0]!.name, 'match');
    assert.equal(root.elements[5]!.elements[0]!.name, 'source');
  });

  test('nested sections keep their argument and their own location', () => {
    const root = parse(`<match app.**>
  @type file
  <buffer tag, time>
    timekey 1h
    <secondary_dummy>
    </secondary_dummy>
  </buffer>
  <format>
    @type json
  </format>
</match>`);
    const m = root.elements[0]!;
    assert.deepEqual(shape(m), {
      name: 'match',
      arg: 'app.**',
      params: { '@type': 'file' },
      elements: [
        {
          name: 'buffer',
          arg: 'tag, time',
          params: { timekey: '1h' },
          elements: [{ name: 'secondary_dummy', arg: '', params: {} }],
        },
        { name: 'format', arg: '', params: { '@type': 'json' } },
      ],
    });
    assert.deepEqual(m.location, { file: 'test.conf', line: 1, column: 1 });
    assert.deepEqual(m.elements[0]!.location, { file: 'test.conf', line: 3, column: 3 });
    assert.deepEqual(m.params[0]!.location, { file: 'test.conf', line: 2, column: 3 });
  });

  test('a tag argument is trimmed and may be followed by blanks before >', () => {
    const root = parse('<match   a.b   >\n</match>\n<filter>\n</filter>\n');
    assert.equal(root.elements[0]!.arg, 'a.b');
    // Fluentd reads an empty <filter>/<match> pattern as **
    assert.equal(root.elements[1]!.arg, '**');
  });

  test('CRLF line endings parse like LF, columns unchanged', () => {
    const root = parse('<source>\r\n  @type sample\r\n  tag a\r\n</source>\r\n');
    assert.deepEqual(params(root.elements[0]), { '@type': 'sample', tag: 'a' });
    assert.deepEqual(root.elements[0]!.params[1]!.location, { file: 'test.conf', line: 3, column: 3 });
  });

  test('an empty file or one with only comments is an empty root', () => {
    assert.deepEqual(shape(parse('')), { name: '', arg: '', params: {} });
    assert.deepEqual(shape(parse('# nothing\n\n   # here\n')), { name: '', arg: '', params: {} });
  });
});

describe('values', () => {
  test('unquoted: to the end of the line, trailing blanks and comment dropped, inner spaces kept', () => {
    assert.equal(value('hello world   '), 'hello world');
    assert.equal(value('hello # a comment'), 'hello');
    assert.equal(value('a#b'), 'a#b');
    assert.equal(value('/^(?<a>[^ ]*) (?<b>.*)$/'), '/^(?<a>[^ ]*) (?<b>.*)$/');
    assert.equal(value('%Y-%m-%dT%H:%M:%S%z'), '%Y-%m-%dT%H:%M:%S%z');
    assert.equal(value('${tag} ${record["x"]}'), '${tag} ${record["x"]}');
  });

  test('a key alone on its line has an empty value', () => {
    const root = parse('<source>\n  flag\n  other   \n  last\n</source>\n');
    assert.deepEqual(params(root.elements[0]), { flag: '', other: '', last: '' });
  });

  test("single-quoted: literal text, only \\' and \\\\ are escapes", () => {
    assert.equal(value(`'a "b" \\n #{x}'`), 'a "b" \\n #{x}');
    assert.equal(value(`'it\\'s \\\\ here'`), "it's \\ here");
    assert.equal(value(`'has # hash'   # comment`), 'has # hash');
    assert.equal(value(`''`), '');
  });

  test('double-quoted: escapes, # kept inside, comment after', () => {
    assert.equal(value(String.raw`"a\tb\nc\"d\\e\#f\$g\0h\ri\fj\bk\'l"`), 'a\tb\nc"d\\e#f$g\0h\ri\fj\bk\'l');
    assert.equal(value(`"has # hash"   # comment`), 'has # hash');
    assert.equal(value(`""`), '');
  });

  test('double-quoted strings span lines; a backslash at the end of a line joins them', () => {
    const root = parse('<source>\n  v "line1\nline2 \\\ncontinued"\n  w 1\n</source>\n');
    assert.deepEqual(params(root.elements[0]), { v: 'line1\nline2 continued', w: '1' });
    assert.deepEqual(root.elements[0]!.params[1]!.location, { file: 'test.conf', line: 5, column: 3 });
  });

  test('JSON arrays and hashes, on one line or until balanced, with comments, kept as compact JSON', () => {
    assert.equal(value('["a", "b", 1]'), '["a","b",1]');
    assert.equal(
      value('{"k": "v # not a comment", "n": {"x": [1]}}  # comment'),
      '{"k":"v # not a comment","n":{"x":[1]}}',
    );
    const root = parse(`<source>
  list [
    "a", # first
    "b"
  ]
  hash {
    "k": "]}"
  }
  after yes
</source>`);
    assert.deepEqual(params(root.elements[0]), { list: '["a","b"]', hash: '{"k":"]}"}', after: 'yes' });
    assert.equal(root.elements[0]!.params[2]!.location.line, 9);
  });

  test('"#{...}" interpolation: ENV[], ENV.fetch with default, hostname', () => {
    assert.equal(value(`"#{ENV['HOME_DIR']}/log"`), '/home/app/log');
    assert.equal(value(`"#{ENV["HOME_DIR"]}"`), '/home/app');
    assert.equal(value(`"[#{ENV['UNSET']}]"`), '[]');
    assert.equal(value(`"#{ENV.fetch('UNSET', 'dflt')}"`), 'dflt');
    assert.equal(value(`"#{ENV.fetch('HOME_DIR', 'dflt')}"`), '/home/app');
    assert.equal(value(`"#{ENV.fetch( "EMPTY" , "x" )}"`), '');
    assert.equal(value(`"#{Socket.gethostname}-#{hostname}"`), 'box1-box1');
    assert.equal(value(`'#{ENV}'`), '#{ENV}', 'single-quoted text is not interpolated');
    assert.equal(value(`#{ENV['HOME_DIR']}`), `#{ENV['HOME_DIR']}`, 'unquoted text is not interpolated');
  });

  test('"#{worker_id}" is the worker index given to the parser', () => {
    const root = parseConfigText('<source>\n  v "w#{worker_id}"\n</source>\n', {
      file: 'w.conf',
      workerId: 3,
    });
    assert.equal(root.elements[0]!.params[0]!.value, 'w3');
  });

  test('a quoted key is read like a value', () => {
    const root = parse('<source>\n  "my key" v\n</source>');
    assert.deepEqual(params(root.elements[0]), { 'my key': 'v' });
  });
});

describe('errors carry file, line and column', () => {
  test('unclosed directive points at its opening tag', () => {
    throwsAt(() => parse('<source>\n  @type sample\n'), 'test.conf', 1, 1, /<source> is never closed/);
    throwsAt(
      () => parse('<match a>\n  <buffer>\n  </buffer>\n'),
      'test.conf',
      1,
      1,
      /<match a> is never closed/,
    );
  });

  test('mismatched end tag', () => {
    throwsAt(
      () => parse('<match a>\n  <buffer>\n  </match>\n</match>\n'),
      'test.conf',
      3,
      3,
      /mismatched end tag <\/match>: expected <\/buffer>.*line 2/,
    );
  });

  test('end tag with nothing open', () => {
    throwsAt(() => parse('<source>\n</source>\n</source>\n'), 'test.conf', 3, 1, /no <source> is open/);
  });

  test('malformed tags and text after tags', () => {
    throwsAt(() => parse('< >\n'), 'test.conf', 1, 2, /expected a directive or section name/);
    throwsAt(() => parse('<source\n  @type x\n'), 'test.conf', 1, 8, /expected '>' to close <source/);
    throwsAt(() => parse('<source> extra\n</source>\n'), 'test.conf', 1, 9, /unexpected text after <source>/);
    throwsAt(
      () => parse('<source>\n</source> extra\n'),
      'test.conf',
      2,
      10,
      /unexpected text after <\/source>/,
    );
    throwsAt(() => parse('<source>\n</ source\n'), 'test.conf', 2, 1, /malformed end tag/);
  });

  test('stray text outside any directive', () => {
    throwsAt(
      () => parse('<source>\n</source>\nport 24224\n'),
      'test.conf',
      3,
      1,
      /stray text 'port' outside any directive/,
    );
  });

  test('unknown top-level directive names the closest one', () => {
    throwsAt(
      () => parse('<sorce>\n</sorce>\n'),
      'test.conf',
      1,
      1,
      /<sorce> is not allowed at the top level \(did you mean <source>\?\)/,
    );
    throwsAt(
      () => parse('<label @X>\n  <source>\n  </source>\n</label>\n'),
      'test.conf',
      2,
      3,
      /<source> is not allowed inside <label @X>/,
    );
  });

  test('label without a name, bad worker ranges', () => {
    throwsAt(() => parse('<label>\n</label>\n'), 'test.conf', 1, 1, /<label> needs a name/);
    throwsAt(
      () => parse('<worker a>\n</worker>\n'),
      'test.conf',
      1,
      1,
      /expected a worker index N or a range N-M/,
    );
    throwsAt(() => parse('<worker 3-1>\n</worker>\n'), 'test.conf', 1, 1, /range end is lower/);
    throwsAt(
      () => parse('<worker 0>\n  <system>\n  </system>\n</worker>\n'),
      'test.conf',
      2,
      3,
      /<system> is not allowed inside <worker 0>/,
    );
  });

  test('text after a quoted value or a JSON value', () => {
    throwsAt(
      () => parse('<source>\n  k "a" b\n</source>\n'),
      'test.conf',
      2,
      8,
      /unexpected text after the value of 'k'/,
    );
    throwsAt(
      () => parse('<source>\n  k [1] 2\n</source>\n'),
      'test.conf',
      2,
      8,
      /unexpected text after the value of 'k'/,
    );
  });

  test('unterminated strings point at the opening quote', () => {
    throwsAt(
      () => parse('<source>\n  k "abc\n</source>\n'),
      'test.conf',
      2,
      5,
      /unterminated double-quoted string/,
    );
    throwsAt(
      () => parse("<source>\n  k 'abc\n</source>\n"),
      'test.conf',
      2,
      5,
      /unterminated single-quoted string/,
    );
  });

  test('unknown escape in a double-quoted string', () => {
    throwsAt(() => parse('<source>\n  k "a\\qb"\n</source>\n'), 'test.conf', 2, 7, /unknown escape '\\q'/);
  });

  test('invalid or unterminated JSON', () => {
    throwsAt(
      () => parse('<source>\n  k [a, b]\n</source>\n'),
      'test.conf',
      2,
      5,
      /invalid JSON array.*quote it/,
    );
    throwsAt(() => parse('<source>\n  k {"a": 1,\n</source>\n'), 'test.conf', 2, 5, /unterminated JSON hash/);
    throwsAt(
      () => parse('<source>\n  k ["a\n  "]\n</source>\n'),
      'test.conf',
      2,
      8,
      /unterminated string inside the JSON array/,
    );
  });

  test('embedded code other than ENV/hostname is refused, not kept', () => {
    throwsAt(
      () => parse('<source>\n  k "x #{File.read(\'/etc/passwd\')}"\n</source>\n'),
      'test.conf',
      2,
      8,
      /unsupported embedded Ruby code '#\{File.read/,
    );
    throwsAt(
      () => parse('<source>\n  k "#{`id`}"\n</source>\n'),
      'test.conf',
      2,
      6,
      /unsupported embedded Ruby code/,
    );
    throwsAt(
      () => parse('<source>\n  k "#{ENV[\'A\']"\n</source>\n'),
      'test.conf',
      2,
      6,
      /unterminated '#\{'/,
    );
    throwsAt(
      () => parse('<source>\n  k "#{ENV.fetch(\'NOPE\')}"\n</source>\n'),
      'test.conf',
      2,
      6,
      /'NOPE' is not set/,
    );
  });

  test("'@' prefix is reserved in directives", () => {
    throwsAt(
      () => parse('<source>\n  @tpye forward\n</source>\n'),
      'test.conf',
      2,
      3,
      /'@' is a reserved prefix: '@tpye'/,
    );
  });

  test('errors report the file name given', () => {
    throwsAt(
      () => parseConfigText('<source>\n', { file: '/etc/sluice/a.conf' }),
      '/etc/sluice/a.conf',
      1,
      1,
      /never closed/,
    );
  });
});
