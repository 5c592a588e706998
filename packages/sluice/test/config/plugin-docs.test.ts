import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BUFFER_PAGE,
  firstSentence,
  generatePluginDocs,
  pluginPage,
  readDocsDir,
} from '../../../../scripts/gen-plugin-docs.ts';
import type { PluginDescriptor } from '../../src/core/plugin.ts';

describe('generated plugin reference (docs/plugins)', () => {
  test('every plugin loads and every page on disk matches its schema (run `npm run docs:plugins` after a schema change)', async () => {
    const { pages, failures } = await generatePluginDocs();
    assert.deepEqual(failures, [], 'plugins that could not be loaded');
    const onDisk = readDocsDir();
    const stale = [...pages].filter(([name, text]) => onDisk.get(name) !== text).map(([name]) => name);
    const orphaned = [...onDisk.keys()].filter((name) => !pages.has(name));
    assert.deepEqual(
      { stale, orphaned },
      { stale: [], orphaned: [] },
      'docs/plugins is out of date: run `npm run docs:plugins`',
    );
    assert.ok(pages.has('README.md') && pages.has(BUFFER_PAGE));
  });

  test('a page lists every parameter with type, default and description, and nested sections', () => {
    const d: PluginDescriptor = {
      kind: 'output',
      type: 'demo',
      description: 'Demo output with a <server> section.',
      buffered: 'always',
      bufferDefaults: { chunkKeys: ['tag'] },
      schema: {
        params: {
          port: { type: 'integer', default: 24224, description: 'Port | to use.' },
          mode: {
            type: 'enum',
            values: ['a', 'b'],
            default: 'a',
            description: 'Mode.',
            aliases: ['old_mode'],
          },
          key: { type: 'secret', required: true, description: 'Shared key.' },
        },
        sections: {
          server: {
            description: 'A peer.',
            multi: true,
            params: { host: { type: 'string', description: 'Host name.' } },
          },
          format: { description: 'Formatter.', plugin: 'formatter' },
        },
      },
      create: () => ({}),
    };
    const page = pluginPage(d);
    assert.match(page, /^# output plugin `demo`$/m);
    assert.match(page, /Demo output with a &lt;server&gt; section\./);
    assert.match(page, /^\| `port` \| integer \| `24224` \| Port \\\| to use\. \|$/m);
    assert.match(page, /^\| `mode` \(also `old_mode`\) \| enum: `a`, `b` \| `a` \| Mode\. \|$/m);
    assert.match(page, /^\| `key` \| secret \| \(required\) \| Shared key\. \|$/m);
    assert.match(page, /^### `<server>`$/m);
    assert.match(page, /May appear several times/);
    assert.match(page, /^\| `host` \| string \| {2}\| Host name\. \|$/m);
    assert.match(page, /A nested formatter plugin/);
    assert.match(page, /always buffered.*Default chunk keys: `tag`/);
  });

  test("the index takes a description's first sentence, not the text up to an 'e.g.'", () => {
    assert.equal(
      firstSentence('Parses a field (e.g. a JSON line) into fields. More detail.'),
      'Parses a field (e.g. a JSON line) into fields.',
    );
    assert.equal(firstSentence('One value, i.e. the message. Two.'), 'One value, i.e. the message.');
    assert.equal(firstSentence('No period at all'), 'No period at all');
  });
});
