import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: plain JavaScript next to the bin, without type declarations
import { chooseEntry } from '../../bin/entry.js';
import { freePort } from '../helpers/ports.ts';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
// Inside the repository (its package.json makes .js files ES modules; its node_modules
// resolve the dependencies), in the ignored test-artifacts folder.
const ARTIFACTS = join(ROOT, 'test-artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

describe('bin/entry.js chooses the compiled build only when it is up to date', () => {
  const base = mkdtempSync(join(ARTIFACTS, 'entry-'));
  const pkg = join(base, 'sluice');
  after(() => rmSync(base, { recursive: true, force: true }));
  const at = (p: string, secs: number) => {
    mkdirSync(join(pkg, p, '..'), { recursive: true });
    writeFileSync(join(pkg, p), '');
    utimesSync(join(pkg, p), secs, secs);
  };

  it('sources without a build run through tsx; a newer build runs compiled; an edit after it runs the sources', () => {
    at('src/cli/main.ts', 1000);
    at('src/plugins/input/tail.ts', 1000);
    assert.equal(chooseEntry(pkg, {}).mode, 'source');
    at('dist/BUILD', 2000);
    const e = chooseEntry(pkg, {});
    assert.equal(e.mode, 'dist');
    assert.match(e.url, /dist\/cli\/main\.js$/);
    assert.equal(chooseEntry(pkg, { SLUICE_FROM_SOURCE: '1' }).mode, 'source');
    at('src/plugins/input/tail.ts', 3000); // edited after the build
    assert.equal(chooseEntry(pkg, {}).mode, 'source');
    at('dist/BUILD', 4000);
    at('../forward/src/codec.ts', 5000); // @sluice/forward counts too (pkg/../forward)
    assert.equal(chooseEntry(pkg, {}).mode, 'source');
  });
});

describe('the compiled build (scripts/build.mjs)', () => {
  const out = join(mkdtempSync(join(ARTIFACTS, 'build-')), 'dist');
  const logs = mkdtempSync(join(ARTIFACTS, 'out-'));
  before(() => {
    // Built into a folder of its own, so the dist/ other tests may be running stays untouched.
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--out', out], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    // dist/ sits in packages/sluice, whose package.json the CLI reads for its version.
    copyFileSync(join(ROOT, 'packages/sluice/package.json'), join(out, '../package.json'));
    writeFileSync(
      join(out, 'run.js'),
      "const { main } = await import('./cli/main.js');\nawait main(process.argv);\n",
    );
  });
  after(() => {
    rmSync(join(out, '..'), { recursive: true, force: true });
    rmSync(logs, { recursive: true, force: true });
  });

  it("is the package's library entry: package.json's main and exports name files of the build", async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'packages/sluice/package.json'), 'utf8')) as {
      main: string;
      exports: Record<string, string | { types: string; default: string }>;
    };
    const built = (p: string) => join(out, p.replace(/^\.\/dist\//, ''));
    assert.ok(existsSync(built(pkg.main)), pkg.main);
    for (const [name, target] of Object.entries(pkg.exports)) {
      if (typeof target === 'string') continue;
      assert.ok(existsSync(built(target.default)), `${name} -> ${target.default}`);
      assert.ok(existsSync(join(ROOT, 'packages/sluice', target.types)), `${name} types -> ${target.types}`);
    }
    const lib = (await import(built(pkg.main))) as Record<string, unknown>;
    for (const name of [
      'defineParams',
      'EventBatch',
      'BatchBuilder',
      'ConfigError',
      'Engine',
      'parseConfigText',
    ])
      assert.equal(typeof lib[name], 'function', name);
    const testing = (await import(
      built((pkg.exports['./testing'] as { default: string }).default)
    )) as Record<string, unknown>;
    assert.equal(typeof testing.testContext, 'function');
  });

  it('holds JavaScript only (plus assets) and runs a forward -> file pipeline without tsx', async () => {
    const files = readdirSync(out, { recursive: true }) as string[];
    assert.ok(files.includes('plugins/input/forward/index.js'));
    assert.ok(!files.some((f) => f.endsWith('.ts')), 'no TypeScript in the build');
    const port = await freePort();
    const conf = join(logs, 'sluice.conf');
    writeFileSync(
      conf,
      `<source>\n@type forward\nbind 127.0.0.1\nport ${port}\n</source>\n<match app.**>\n@type file\npath ${logs}/app\nappend true\n<buffer>\nflush_mode immediate\n</buffer>\n</match>\n`,
    );
    const proc = spawn(process.execPath, [join(out, 'run.js'), '-c', conf], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    proc.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    const exited = new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
    try {
      await waitFor(
        () => /sluice started/.test(err),
        () => `start; stderr: ${err}`,
        exited,
        (wake) => {
          proc.stderr.on('data', wake);
          return () => proc.stderr.off('data', wake);
        },
      );
      const cat = spawnSync(
        process.execPath,
        [join(out, 'run.js'), 'cat', 'app.test', '--port', String(port)],
        {
          input: '{"hello":"compiled"}\n',
          encoding: 'utf8',
        },
      );
      assert.equal(cat.status, 0, cat.stderr);
      await waitFor(
        () =>
          readdirSync(logs, { withFileTypes: true }).some(
            // out_file's default buffer is a directory at its path (as in Fluentd): files only.
            (f) =>
              f.isFile() &&
              f.name.startsWith('app') &&
              readFileSync(join(logs, f.name), 'utf8').includes('compiled'),
          ),
        () => `the event in ${logs}; stderr: ${err}`,
        exited,
        (wake) => {
          const w = watch(logs, wake);
          return () => w.close();
        },
      );
      const file = readdirSync(logs, { withFileTypes: true }).find(
        (f) => f.isFile() && f.name.startsWith('app'),
      )!;
      assert.match(readFileSync(join(logs, file.name), 'utf8'), /\tapp\.test\t\{"hello":"compiled"\}\n/);
      assert.doesNotMatch(err, /tsx/);
    } finally {
      proc.kill('SIGTERM');
      await exited;
    }
  });
});

/** Resolves when `cond` holds, checked whenever `subscribe` reports a change (bounded). */
function waitFor(
  cond: () => boolean,
  what: () => string,
  exited: Promise<unknown>,
  subscribe: (wake: () => void) => () => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    let unsubscribe = () => {};
    const finish = (e?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unsubscribe();
      if (e) reject(e);
      else resolve();
    };
    const timer = setTimeout(() => finish(new Error(`timed out waiting for ${what()}`)), 30_000);
    const check = () => {
      if (cond()) finish();
    };
    unsubscribe = subscribe(check);
    void exited.then(() => finish(new Error(`process exited before ${what()}`)));
    check();
  });
}
