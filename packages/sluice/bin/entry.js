// Which main module bin/sluice.js runs: the compiled build in dist/ when it is there and
// no source file is newer than it, else the TypeScript sources through tsx. So a fresh
// clone runs with or without a build, and an edit to the sources is never shadowed by a
// stale build. SLUICE_FROM_SOURCE=1 forces the sources.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Newest modification time (ms) of the files under `dir`; 0 when it does not exist. */
export function newestMtime(dir) {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    const t = e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs;
    if (t > newest) newest = t;
  }
  return newest;
}

/**
 * @param {string} pkgDir packages/sluice
 * @param {Record<string, string | undefined>} env
 * @returns {{ mode: 'dist' | 'source', url: string }}
 */
export function chooseEntry(pkgDir, env = process.env) {
  const stamp = join(pkgDir, 'dist', 'BUILD');
  if (env.SLUICE_FROM_SOURCE !== '1' && existsSync(stamp)) {
    const built = statSync(stamp).mtimeMs;
    const sources = Math.max(newestMtime(join(pkgDir, 'src')), newestMtime(join(pkgDir, '../forward/src')));
    if (sources <= built) return { mode: 'dist', url: pathToFileURL(join(pkgDir, 'dist/cli/main.js')).href };
  }
  return { mode: 'source', url: pathToFileURL(join(pkgDir, 'src/cli/main.ts')).href };
}
