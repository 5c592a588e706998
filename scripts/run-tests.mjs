#!/usr/bin/env node
// Node 20's test runner does not expand globs nor find .ts files by itself, so this
// collects every *.test.ts under packages/ and hands them to `node --test` with tsx.
// Extra arguments narrow the run: `npm test -- forward` runs files whose path contains "forward".
// First it installs, only when missing, the tools the tests run for real
// (scripts/test-deps.sh: Debian packages, kustomize, the stores), so a fresh clone needs
// nothing but `npm install && npm test`.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) collect(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = collect('packages', [])
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const deps = spawnSync('bash', [fileURLToPath(new URL('test-deps.sh', import.meta.url))], {
  stdio: 'inherit',
});
if (deps.status !== 0) {
  console.error('test set-up failed (scripts/test-deps.sh): no test was run');
  process.exit(deps.status ?? 1);
}
const args = ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-concurrency=2`, ...files];
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
