#!/usr/bin/env node
// Runs the compiled build (dist/, made by `npm run build`, which `npm install` runs) when it
// is up to date, else the TypeScript sources through tsx's loader: see entry.js. tsx is a
// development dependency: a production install (--omit=dev) runs the build only.
import { fileURLToPath } from 'node:url';
import { chooseEntry } from './entry.js';

const entry = chooseEntry(fileURLToPath(new URL('..', import.meta.url)));
if (entry.mode === 'source') {
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    console.error(
      'sluice: SLUICE_NO_BUILD: packages/sluice/dist is missing or older than the sources, and tsx ' +
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
