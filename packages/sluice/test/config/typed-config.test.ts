// A plugin's resolved config is typed from its schema (Resolved<typeof schema>): the values
// resolve() gives have the types the schema says. The type checks here are run by
// `npm run typecheck` (a wrong one fails it); the assertions check the values at run time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../src/config/parser.ts';
import { defineSchema, type Resolved, resolve } from '../../src/config/schema.ts';

const schema = defineSchema({
  params: {
    host: { type: 'string', required: true, description: 'd' },
    port: { type: 'integer', default: 24224, description: 'd' },
    timeout: { type: 'time', default: null, description: 'd' },
    mode: { type: 'enum', values: ['a', 'b'], default: 'a', description: 'd' },
    tags: { type: 'array', default: [], description: 'd' },
  },
  sections: {
    server: {
      multi: true,
      description: 'd',
      params: { name: { type: 'string', required: true, description: 'd' } },
    },
    security: {
      description: 'd',
      params: { key: { type: 'secret', required: true, description: 'd' } },
    },
    parse: { plugin: 'parser', description: 'd' },
    record: { open: true, description: 'd' },
  },
});

function resolved(text: string): Resolved<typeof schema> {
  return resolve(schema, parseConfigText(text, { file: 't.conf' }).elements[0]!, 't');
}

describe('typed config', () => {
  it('params, sections and nested elements have the types their schema gives', () => {
    const c = resolved(
      '<match x>\nhost h\ntimeout 5s\n<server>\nname a\n</server>\n<server>\nname b\n</server>\n<security>\nkey k\n</security>\n<parse>\n@type json\n</parse>\n<record>\nx 1\n</record>\n</match>',
    );
    const host: string = c.params.host;
    const port: number = c.params.port;
    const timeout: number | undefined = c.params.timeout;
    const mode: 'a' | 'b' = c.params.mode;
    const tags: string[] = c.params.tags;
    const names: string[] = c.sections.server.map((s) => s.params.name);
    const key: string | undefined = c.sections.security?.params.key;
    const parse = c.sections.parse?.element;
    const record: Record<string, string> | undefined = c.sections.record?.params;
    // @ts-expect-error a param the schema does not have
    void c.params.nope;
    assert.deepEqual(
      { host, port, timeout, mode, tags, names, key, parse: parse?.name, record },
      {
        host: 'h',
        port: 24224,
        timeout: 5,
        mode: 'a',
        tags: [],
        names: ['a', 'b'],
        key: 'k',
        parse: 'parse',
        record: { x: '1' },
      },
    );
  });

  it('absent sections: a multi section is an empty list, another is undefined', () => {
    const c = resolved('<match x>\nhost h\n</match>');
    assert.deepEqual(c.sections.server, []);
    assert.equal(c.sections.security, undefined);
    assert.equal(c.sections.parse, undefined);
    assert.equal(c.params.timeout, undefined);
  });
});
