import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolve } from '../../src/config/schema.ts';
import { loadPlugin } from '../../src/plugins/registry.ts';
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

  test("out_forward's server port must be 1-65535", async () => {
    const { schema } = await loadPlugin('output', 'forward');
    const el = parse(
      '<match **>\n  @type forward\n  <server>\n    host 127.0.0.1\n    port 0\n  </server>\n</match>\n',
    ).elements[0]!;
    throwsAt(
      () => resolve(schema, el, '<match **>'),
      'test.conf',
      5,
      5,
      /parameter 'port' must be 1-65535 \(got 0\)/,
    );
  });
});
