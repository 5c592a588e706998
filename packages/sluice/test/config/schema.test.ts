import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { withConfigPolicy } from '../../src/config/diagnostics.ts';
import { type Resolved, resolve } from '../../src/config/schema.ts';
import { loadPlugin } from '../../src/engine/registry.ts';
import { parse, throwsAt } from './helpers.ts';

describe('parameter ranges', () => {
  test('a listening port outside 0-65535 is an error at its line; 0 and 65535 are accepted', async () => {
    for (const type of ['forward', 'http', 'postback', 'monitor_agent', 'prometheus']) {
      const { schema } = await loadPlugin('input', type);
      const bad = parse(`<source>\n  @type ${type}\n  port 70000\n</source>\n`).elements[0]!;
      throwsAt(
        () => resolve(schema, bad, `<source> ${type}`),
        'test.conf',
        3,
        3,
        /parameter 'port' must be 0-65535 \(got 70000\)/,
      );
      for (const port of [0, 65535]) {
        const ok = parse(`<source>\n  @type ${type}\n  port ${port}\n</source>\n`).elements[0]!;
        assert.equal(resolve(schema, ok, `<source> ${type}`).params.port, port, type);
      }
    }
  });

  test("out_forward's server port is 0-65535: 0 connects nowhere, as in Fluentd", async () => {
    const { schema } = await loadPlugin('output', 'forward');
    const server = (port: string) =>
      parse(
        `<match **>\n  @type forward\n  <server>\n    host 127.0.0.1\n    port ${port}\n  </server>\n</match>\n`,
      ).elements[0]!;
    const servers = (port: string) =>
      resolve(schema, server(port), '<match **>').sections.server as Resolved[];
    assert.equal(servers('0')[0]!.params.port, 0);
    throwsAt(
      () => resolve(schema, server('65536'), '<match **>'),
      'test.conf',
      5,
      5,
      /parameter 'port' must be 0-65535 \(got 65536\)/,
    );
  });
});

describe('an empty number (an unset variable in "#{...}") reads as 0, as in Fluentd', () => {
  // fluentd-kubernetes-daemonset debian-forward fluent.conf, with FLUENT_FOWARD_HOST/PORT unset.
  const conf =
    '<match **>\n  @type forward\n  <server>\n    host "#{ENV[\'FLUENT_FOWARD_HOST\']}"\n    port "#{ENV[\'FLUENT_FOWARD_PORT\']}"\n  </server>\n</match>\n';

  test('warned (CONFIG_EMPTY_NUMBER) and read as 0 in a lenient build; an error when strict', async () => {
    const { schema } = await loadPlugin('output', 'forward');
    const el = parse(conf).elements[0]!;
    const warned: [string, string | undefined][] = [];
    const r = withConfigPolicy({ strict: false, warn: (e, code) => warned.push([e.message, code]) }, () =>
      resolve(schema, el, '<match **>'),
    );
    const server = (r.sections.server as Resolved[])[0]!;
    assert.deepEqual(server.params, { ...server.params, host: '', port: 0 });
    assert.deepEqual(warned, [
      [
        "test.conf:5:5: parameter 'port' is empty (an unset variable?): read as 0, as Fluentd does",
        'CONFIG_EMPTY_NUMBER',
      ],
    ]);
    throwsAt(
      () => withConfigPolicy({ strict: true, warn: () => {} }, () => resolve(schema, el, '<match **>')),
      'test.conf',
      5,
      5,
      /parameter 'port' is empty/,
    );
  });

  test('sizes, durations and floats too ("".to_i, "".to_f); a range without 0 is an error saying so', async () => {
    const { schema } = await loadPlugin('output', 'forward');
    const lenient = <T>(fn: () => T) => withConfigPolicy({ strict: false, warn: () => {} }, fn);
    const el = parse(
      '<match **>\n  @type forward\n  connect_timeout ""\n  <server>\n    host h\n  </server>\n</match>\n',
    ).elements[0]!;
    assert.equal(lenient(() => resolve(schema, el, '<match **>')).params.connect_timeout, 0);
    const input = await loadPlugin('input', 'tail');
    const tail = parse(
      '<source>\n  @type tail\n  path /x\n  tag t\n  read_bytes_limit_per_second ""\n  <parse>\n    @type none\n  </parse>\n</source>\n',
    ).elements[0]!;
    const rp = lenient(() => resolve(input.schema, tail, '<source>'));
    assert.equal(rp.params.read_bytes_limit_per_second, 0);
    const weight = parse(
      '<match **>\n  @type forward\n  <server>\n    host h\n    weight ""\n  </server>\n</match>\n',
    ).elements[0]!;
    assert.equal(
      (lenient(() => resolve(schema, weight, '<match **>')).sections.server as Resolved[])[0]!.params.weight,
      0,
    );
    const ranged = {
      params: { port: { type: 'integer' as const, min: 1, max: 65535, default: 9200, description: 'p' } },
    };
    throwsAt(
      () =>
        lenient(() => resolve(ranged, parse('<match **>\n  port ""\n</match>\n').elements[0]!, '<match **>')),
      'test.conf',
      2,
      3,
      /parameter 'port' is empty, which Fluentd reads as 0, and must be 1-65535/,
    );
  });
});
