#!/usr/bin/env node
// Runs the compiled build (dist/, made by `npm run build`, which `npm install` runs) when it
// is up to date, else the TypeScript sources through tsx's loader: see entry.js. tsx is a
// development dependency: a production install (--omit=dev) runs the build only.
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { chooseEntry } from './entry.js';

// First, before the modules are loaded: V8's young generation stays at its initial size
// unless the user chose one (why: src/core/heap-flags.ts). Set later, it no longer shrinks.
const chosen = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) =>
  /^--(max|min)-semi-space-size\b|^--semi-space-growth-factor\b/.test(a),
);
if (!chosen) setFlagsFromString('--semi-space-growth-factor=1');

const entry = chooseEntry(fileURLToPath(new URL('..', import.meta.url)));
if (entry.mode === 'source') {
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    console.error(
      'SLUICE_NO_BUILD: sluice cannot start: packages/sluice/dist is missing or older than the sources, and tsx ' +
        '(the development dependency that runs the TypeScript sources) is not installed. ' +
        'Run `npm run build`, or `npm install` with the dev dependencies.',
    );
    process.exit(1);
  }
  tsx.register();
}
process.env.SLUICE_RUNNING_FROM = entry.mode;
const { main } = await import(entry.url);
await main(process.argv);
