#!/usr/bin/env node
// Runs the compiled build (dist/, made by `npm run build`, which `npm install` runs) when it
// is up to date, else the TypeScript sources through tsx's loader: see entry.js.
import { fileURLToPath } from 'node:url';
import { chooseEntry } from './entry.js';

const entry = chooseEntry(fileURLToPath(new URL('..', import.meta.url)));
if (entry.mode === 'source') {
  const { register } = await import('tsx/esm/api');
  register();
}
process.env.SLUICE_RUNNING_FROM = entry.mode;
const { main } = await import(entry.url);
await main(process.argv);
