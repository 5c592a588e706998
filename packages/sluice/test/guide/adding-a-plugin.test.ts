// docs/adding-a-plugin.md shows a complete output plugin. This builds that example exactly
// as the page prints it: the code block is written to a file that imports the real sources,
// registered as plugins/output/jsonl.ts would be found, run in a pipeline, checked against
// the import rules, and its reference page rendered. An edit that breaks the guide fails here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { EventTime } from '@sluice/forward';
import { pluginPage } from '../../../../scripts/gen-plugin-docs.ts';
import { EventBatch } from '../../src/core/batch.ts';
import type { PluginDescriptor } from '../../src/core/plugin.ts';
import { Engine } from '../../src/engine/engine.ts';
import { registerPlugin } from '../../src/engine/registry.ts';
import { waitUntil } from '../helpers/wait.ts';

const root = fileURLToPath(new URL('../../../..', import.meta.url));
const pluginsDir = join(root, 'packages/sluice/src/plugins/output');

function guideExample(): string {
  const page = readFileSync(join(root, 'docs/adding-a-plugin.md'), 'utf8');
  const section = page.slice(page.indexOf('## The plugin'));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(m, 'the guide has a ts code block under "The plugin"');
  return m[1]!;
}

/** The example as a module: its relative imports resolved from plugins/output/, as there. */
function asModule(code: string, dir: string): string {
  const file = join(dir, 'jsonl.ts');
  const resolved = code.replace(/from '(\.\.?\/[^']+)'/g, (_m, spec: string) => {
    return `from '${join(pluginsDir, spec)}'`;
  });
  writeFileSync(file, resolved);
  return file;
}

test('the guide example is a working buffered output: records arrive in the file as JSON lines', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-guide-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const mod = (await import(pathToFileURL(asModule(guideExample(), dir)).href)) as {
    default: PluginDescriptor;
  };
  const d = mod.default;
  assert.equal(d.kind, 'output');
  assert.equal(d.type, 'jsonl');
  registerPlugin(d);

  const out = join(dir, 'app.jsonl');
  const engine = await Engine.fromText(
    `<match app.**>\n@type jsonl\npath ${out}\n<buffer>\nflush_mode immediate\n</buffer>\n</match>\n`,
  );
  await engine.start();
  try {
    const time = EventTime.fromMillis(1_700_000_000_000);
    await engine.emit(
      EventBatch.fromEntries('app.web', [
        { time, record: { msg: 'one', n: 1 } },
        { time, record: { msg: 'two', nested: { ok: true } } },
      ]),
    );
    const text = await waitUntil(() => {
      try {
        const s = readFileSync(out, 'utf8');
        return s.split('\n').length > 2 ? s : undefined;
      } catch {
        return undefined;
      }
    }, 'both records in the file');
    assert.deepEqual(
      text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
      [
        { msg: 'one', n: 1 },
        { msg: 'two', nested: { ok: true } },
      ],
    );
  } finally {
    await engine.stop();
  }

  // a missing required parameter is a config error at its location, as the guide says
  await assert.rejects(Engine.fromText('<match app.**>\n@type jsonl\n</match>\n'), /path/);

  // its reference page renders from the schema
  const page = pluginPage(d);
  assert.match(page, /jsonl/);
  assert.match(page, /File the records are appended to\./);
});

test("the guide example type-checks under the project's strict settings, with no cast of its config", (t) => {
  const dir = mkdtempSync(join(root, 'node_modules', '.guide-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const code = guideExample();
  assert.doesNotMatch(code, / as (string|number|boolean)\b/, 'the example needs no cast of its parameters');
  asModule(code, dir);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: join(root, 'tsconfig.json'),
      include: ['jsonl.ts'],
      compilerOptions: { noEmit: true },
    }),
  );
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], {
    encoding: 'utf8',
    timeout: 180_000,
  });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});

test('the guide example keeps the import rules: in plugins/output/ it would import no engine, no other plugin', () => {
  const code = guideExample();
  const specs = [...code.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
  assert.ok(specs.length > 0);
  for (const s of specs) {
    if (!s.startsWith('.')) continue;
    const target = join(pluginsDir, s);
    const rel = target.slice(join(root, 'packages/sluice/src').length + 1);
    assert.doesNotMatch(rel, /^(engine|cli|agent|plugins)\//, `${s} is outside what a plugin may import`);
    assert.ok(readFileSync(target, 'utf8').length > 0, `${s} exists`);
  }
});
