import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseConfigFile } from '../../src/config/parser.ts';
import { parseYamlConfig } from '../../src/config/yaml.ts';
import { ENV, shape, throwsAt } from './helpers.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-yaml-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const yaml = (text: string) => parseYamlConfig(text, { file: 'test.yaml', env: ENV, hostname: 'box1' });

describe("Fluentd's YAML config format", () => {
  test('the same AST as the Fluentd syntax, with locations from the YAML nodes', () => {
    const root = yaml(`system:
  workers: 2
config:
  - source:
      $type: tail
      $id: in_tail
      $label: '@APP'
      path: /var/log/app.log
      read_from_head: true
      parse:
        $type: json
  - label:
      $name: '@APP'
      config:
        - filter:
            $tag: app.**
            $type: grep
            regexp:
              - key: level
                pattern: /error/
              - key: msg
                pattern: /x/
        - match:
            $tag: [app.**, other]
            $type: file
            path: /tmp/out
            buffer:
              $arg: [tag, time]
              timekey: 010
  - worker:
      $arg: 0-1
      config:
        - source:
            $type: sample
`);
    assert.deepEqual(shape(root), {
      name: '',
      arg: '',
      params: {},
      elements: [
        { name: 'system', arg: '', params: { workers: '2' } },
        {
          name: 'source',
          arg: '',
          params: {
            '@type': 'tail',
            '@id': 'in_tail',
            '@label': '@APP',
            path: '/var/log/app.log',
            read_from_head: 'true',
          },
          elements: [{ name: 'parse', arg: '', params: { '@type': 'json' } }],
        },
        {
          name: 'label',
          arg: '@APP',
          params: {},
          elements: [
            {
              name: 'filter',
              arg: 'app.**',
              params: { '@type': 'grep' },
              elements: [
                { name: 'regexp', arg: '', params: { key: 'level', pattern: '/error/' } },
                { name: 'regexp', arg: '', params: { key: 'msg', pattern: '/x/' } },
              ],
            },
            {
              name: 'match',
              arg: 'app.** other',
              params: { '@type': 'file', path: '/tmp/out' },
              elements: [{ name: 'buffer', arg: 'tag,time', params: { timekey: '010' } }],
            },
          ],
        },
        {
          name: 'worker',
          arg: '0-1',
          params: {},
          elements: [{ name: 'source', arg: '', params: { '@type': 'sample' } }],
        },
      ],
    });
    const source = root.elements[1]!;
    assert.deepEqual(source.location, { file: 'test.yaml', line: 4, column: 5 });
    assert.deepEqual(source.params[3]!.location, { file: 'test.yaml', line: 8, column: 7 });
  });

  test('!fluent/s is a double-quoted Fluentd string; !fluent/json and lists become JSON', () => {
    const root = yaml(`config:
  - source:
      $type: sample
      path: !fluent/s "#{ENV['HOME_DIR']}/x\\t#{hostname}"
      sample: !fluent/json {"a": 1, "b": [true, null]}
      keys: [a, 2]
      empty:
      nothing: ~
      $log_level: debug
`);
    assert.deepEqual(shape(root.elements[0]!), {
      name: 'source',
      arg: '',
      params: {
        '@type': 'sample',
        path: '/home/app/x\tbox1',
        sample: '{"a":1,"b":[true,null]}',
        keys: '["a",2]',
        empty: '',
        nothing: '',
        '@log_level': 'debug',
      },
    });
  });

  test('$type: null names the null output', () => {
    const root = yaml('config:\n  - match:\n      $tag: "**"\n      $type: null\n');
    assert.equal(root.elements[0]!.params[0]!.value, 'null');
  });

  test('anchors, aliases and << merge keys (a top-level key that only holds an anchor is allowed)', () => {
    const root = yaml(`common: &c
  $type: stdout
  output_type: json
config:
  - match:
      $tag: a
      <<: *c
      output_type: hash
  - match:
      $tag: b
      <<: *c
`);
    assert.deepEqual(root.elements.map(shape), [
      { name: 'match', arg: 'a', params: { '@type': 'stdout', output_type: 'hash' } },
      { name: 'match', arg: 'b', params: { '@type': 'stdout', output_type: 'json' } },
    ]);
  });

  test('!include splices a list of directives, relative to the including file', async () => {
    await mkdir(join(dir, 'conf.d'), { recursive: true });
    await writeFile(join(dir, 'conf.d/1.yaml'), '- match:\n    $tag: one\n    $type: null\n');
    await writeFile(join(dir, 'conf.d/2.yaml'), '- match:\n    $tag: two\n    $type: null\n');
    const main = join(dir, 'fluent.yaml');
    await writeFile(main, 'config:\n  - source:\n      $type: sample\n  - !include conf.d/*.yaml\n');
    const root = parseConfigFile(main);
    assert.deepEqual(
      root.elements.map((e) => e.arg || e.name),
      ['source', 'one', 'two'],
    );
    assert.deepEqual(root.elements[1]!.location, { file: join(dir, 'conf.d/1.yaml'), line: 1, column: 3 });
  });

  test('parseConfigFile applies the legacy mapping to YAML too', async () => {
    const p = join(dir, 'legacy.yml');
    await writeFile(p, 'config:\n  - source:\n      $type: tail\n      format: json\n');
    assert.deepEqual(shape(parseConfigFile(p).elements[0]!), {
      name: 'source',
      arg: '',
      params: { '@type': 'tail' },
      elements: [{ name: 'parse', arg: '', params: { '@type': 'json' } }],
    });
  });

  test('errors carry file, line and column', () => {
    throwsAt(
      () => yaml('config:\n  - source:\n      $type: "tail\n'),
      'test.yaml',
      4,
      1,
      /invalid YAML: Missing closing "quote/,
    );
    throwsAt(
      () => yaml('confg:\n  - source: {}\n'),
      'test.yaml',
      1,
      1,
      /unknown top-level key 'confg' \(did you mean 'config'\?\)/,
    );
    throwsAt(
      () => yaml('config:\n  - sorce:\n      $type: x\n'),
      'test.yaml',
      2,
      5,
      /unknown directive 'sorce' \(did you mean 'source'\?\)/,
    );
    throwsAt(
      () => yaml('config:\n  - source:\n      $typ: x\n'),
      'test.yaml',
      3,
      7,
      /unknown reserved key '\$typ'/,
    );
    throwsAt(
      () => yaml('config:\n  - source:\n      p: !ruby/eval x\n'),
      'test.yaml',
      3,
      10,
      /unknown YAML tag !ruby\/eval/,
    );
    throwsAt(
      () => yaml('config:\n  - source:\n      p: !fluent/s "#{`id`}"\n'),
      'test.yaml',
      3,
      20,
      /in !fluent\/s: unsupported embedded Ruby code/,
    );
    throwsAt(() => yaml('config:\n  source: {}\n'), 'test.yaml', 1, 1, /`config:` must be a list/);
    throwsAt(
      () => yaml('config:\n  - label:\n      $name: "@X"\n      confg: []\n'),
      'test.yaml',
      4,
      7,
      /unknown key 'confg' in 'label:'/,
    );
  });
});
