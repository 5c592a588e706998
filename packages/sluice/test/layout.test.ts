// The import rules of docs/ARCHITECTURE.md ("Layers"), checked by dependency-cruiser with
// .dependency-cruiser.cjs: no import cycle in packages/sluice/src, no plugin importing the
// engine or another plugin, lower layers never importing higher ones. A change that breaks
// one fails here with the offending import.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const depcruise = join(root, 'node_modules/.bin/depcruise');

function cruise(path: string): { status: number | null; out: string } {
  const r = spawnSync(depcruise, [path, '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('packages/sluice/src has no import cycle and keeps the layer and plugin import rules', () => {
  const r = cruise('packages/sluice/src');
  assert.equal(r.status, 0, `dependency rules broken:\n${r.out}`);
  assert.match(r.out, /no dependency violations found/);
});

test('the rules catch a plugin importing the engine, another plugin, and a cycle', (t) => {
  // A scratch tree shaped like src/, so the check above is known to be able to fail.
  const dir = mkdtempSync(join(tmpdir(), 'sluice-layout-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const src = join(dir, 'packages/sluice/src');
  const files: Record<string, string> = {
    'tsconfig.json':
      '{"compilerOptions":{"module":"nodenext","allowImportingTsExtensions":true,"noEmit":true}}',
    'engine/engine.ts': "import '../core/plugin.ts';\nexport const engine = 1;\n",
    'core/plugin.ts': "import './a.ts';\nexport const plugin = 1;\n",
    'core/a.ts': "import './plugin.ts';\nexport const a = 1;\n",
    'plugins/output/bad.ts':
      "import '../../engine/engine.ts';\nimport '../input/other/index.ts';\nexport const bad = 1;\n",
    'plugins/input/other/index.ts': "import './helper.ts';\nexport const other = 1;\n",
    'plugins/input/other/helper.ts': 'export const helper = 1;\n',
  };
  for (const [rel, text] of Object.entries(files)) {
    const at = rel === 'tsconfig.json' ? join(dir, rel) : join(src, rel);
    mkdirSync(join(at, '..'), { recursive: true });
    writeFileSync(at, text);
  }
  const r = spawnSync(
    depcruise,
    [
      'packages/sluice/src',
      '--config',
      join(root, '.dependency-cruiser.cjs'),
      '--output-type',
      'err',
      '--no-cache',
    ],
    { cwd: dir, encoding: 'utf8', timeout: 120_000 },
  );
  const out = `${r.stdout}${r.stderr}`;
  assert.notEqual(r.status, 0, out);
  assert.match(
    out,
    /plugin-not-into-engine-or-apps: packages\/sluice\/src\/plugins\/output\/bad\.ts → packages\/sluice\/src\/engine\/engine\.ts/,
  );
  assert.match(
    out,
    /plugin-not-into-another-plugin: packages\/sluice\/src\/plugins\/output\/bad\.ts → packages\/sluice\/src\/plugins\/input\/other\/index\.ts/,
  );
  assert.match(out, /no-cycle/);
  // a plugin's own helper is allowed
  assert.doesNotMatch(out, /other\/index\.ts → packages\/sluice\/src\/plugins\/input\/other\/helper\.ts/);
});
