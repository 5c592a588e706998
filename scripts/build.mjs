#!/usr/bin/env node
// Compiles packages/sluice (and @sluice/forward, which it imports) to JavaScript in
// packages/sluice/dist, which bin/sluice.js runs when it is up to date with the sources.
// The compiled build starts faster and needs less memory per process than running the
// sources through tsx (bench/RESULTS.md, "Issue 7, second pass"). Runs on `npm install`
// (prepare); without TypeScript installed (npm install --omit=dev) it says so and leaves
// the sources to tsx.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// --out DIR: build elsewhere (the build test does, so it never touches the dist/ that
// running tests use).
const outAt = process.argv.indexOf('--out');
const dist = outAt > 0 ? resolve(process.argv[outAt + 1]) : join(root, 'packages/sluice/dist');

let tsc;
try {
  tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
} catch {
  console.warn('sluice build: typescript is not installed; bin/sluice.js will run the sources through tsx');
  process.exit(0);
}

rmSync(dist, { recursive: true, force: true });
const projects = [
  ['packages/forward/tsconfig.build.json', join(dist, 'node_modules/@sluice/forward/src')],
  ['packages/sluice/tsconfig.build.json', dist],
];
for (const [project, outDir] of projects) {
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, project), '--outDir', outDir], {
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    rmSync(dist, { recursive: true, force: true });
    console.error(`sluice build: tsc failed for ${project}`);
    process.exit(r.status ?? 1);
  }
}

// Files the code reads at run time next to its modules (the dashboard's page).
function copyAssets(from, to) {
  for (const e of readdirSync(from, { withFileTypes: true })) {
    const src = join(from, e.name);
    if (e.isDirectory()) copyAssets(src, join(to, e.name));
    else if (!e.name.endsWith('.ts')) {
      mkdirSync(to, { recursive: true });
      cpSync(src, join(to, e.name));
    }
  }
}
copyAssets(join(root, 'packages/sluice/src'), dist);

// The compiled @sluice/forward, found by Node's resolution from dist/ before the
// workspace link (which points at the TypeScript sources).
writeFileSync(
  join(dist, 'node_modules/@sluice/forward/package.json'),
  `${JSON.stringify({ name: '@sluice/forward', private: true, type: 'module', exports: { '.': './src/index.js' } }, null, 2)}\n`,
);
// Written last: bin/sluice.js trusts dist/ only when this is newer than every source file.
writeFileSync(join(dist, 'BUILD'), `built ${new Date().toISOString()}\n`);
if (!existsSync(join(dist, 'cli/main.js'))) {
  console.error('sluice build: dist/cli/main.js is missing after tsc');
  process.exit(1);
}
console.log(`sluice build: compiled to ${dist}`);
