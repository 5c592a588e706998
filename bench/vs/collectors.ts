// How bench/vs starts each collector on a config of bench/vs/configs: Sluice (the compiled
// build when there is one) and Fluentd run the same Fluentd-syntax file, Fluent Bit its own.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { HERE } from '../vth/lib.ts';

export const CONFIGS = join(HERE, '../vs/configs');
const ROOT = join(HERE, '../..');
export type CollectorName = 'sluice' | 'fluent-bit' | 'fluentd';

export interface Running {
  proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * The private compiled build `--build` makes: the committed tree at a ref (git archive, so
 * other engineers' unfinished edits in the working tree are not in it), compiled in place.
 */
const TREE = '/tmp/sluice-bench-vs-tree';

/** Compiles Sluice as committed at `ref` into TREE/packages/sluice/dist. */
export function buildSluice(ref = 'HEAD'): void {
  rmSync(TREE, { recursive: true, force: true });
  mkdirSync(TREE, { recursive: true });
  const files = ['package.json', 'tsconfig.json', 'scripts', 'packages/forward', 'packages/sluice/src'];
  files.push('packages/sluice/bin', 'packages/sluice/package.json', 'packages/sluice/tsconfig.build.json');
  const tar = spawnSync(
    'sh',
    ['-c', `git -C "${ROOT}" archive ${ref} ${files.join(' ')} | tar -x -C "${TREE}"`],
    {
      stdio: 'inherit',
    },
  );
  if (tar.status !== 0) throw new Error(`bench/vs: git archive ${ref} failed`);
  symlinkSync(join(ROOT, 'node_modules'), join(TREE, 'node_modules'));
  const commit = spawnSync('git', ['-C', ROOT, 'rev-parse', '--short', ref], {
    encoding: 'utf8',
  }).stdout.trim();
  writeFileSync(join(TREE, 'COMMIT'), commit);
  const r = spawnSync('nice', [process.execPath, join(TREE, 'scripts/build.mjs')], { stdio: 'pipe' });
  if (r.status === 0) return;
  // While several engineers commit parts of a change, the tree may not type-check though its
  // JavaScript runs: compile it anyway (tsc emits despite type errors) and say so.
  console.error(
    `bench/vs: ${commit} does not type-check; its JavaScript is built anyway:\n${String(r.stdout).slice(-1500)}`,
  );
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const dist = join(TREE, 'packages/sluice/dist');
  const projects: [string, string][] = [
    ['packages/forward/tsconfig.build.json', join(dist, 'node_modules/@sluice/forward/src')],
    ['packages/sluice/tsconfig.build.json', dist],
  ];
  for (const [project, out] of projects)
    spawnSync('nice', [process.execPath, tsc, '-p', join(TREE, project), '--outDir', out], {
      stdio: 'ignore',
    });
  if (!existsSync(join(dist, 'cli/main.js'))) throw new Error('bench/vs: the build failed');
  cpSync(join(TREE, 'packages/sluice/src'), dist, { recursive: true, filter: (f) => !f.endsWith('.ts') });
  writeFileSync(
    join(dist, 'node_modules/@sluice/forward/package.json'),
    JSON.stringify({
      name: '@sluice/forward',
      private: true,
      type: 'module',
      exports: { '.': './src/index.js' },
    }),
  );
  writeFileSync(join(dist, 'BUILD'), `built ${new Date().toISOString()} (type errors ignored)\n`);
  writeFileSync(join(TREE, 'COMMIT'), `${commit} (type errors ignored)`);
}

/** The Sluice entry point: SLUICE_BIN, else the private build, else bin/sluice.js. */
export function sluiceEntry(): { path: string; what: string } {
  if (process.env.SLUICE_BIN)
    return { path: process.env.SLUICE_BIN, what: `SLUICE_BIN=${process.env.SLUICE_BIN}` };
  if (existsSync(join(TREE, 'packages/sluice/dist/BUILD')))
    return {
      path: join(TREE, 'packages/sluice/bin/sluice.js'),
      what: `compiled build of commit ${readFileSync(join(TREE, 'COMMIT'), 'utf8')}`,
    };
  return { path: join(ROOT, 'packages/sluice/bin/sluice.js'), what: 'packages/sluice/bin/sluice.js' };
}

/** The config of a case for a collector with its {{NAME}}s filled in, written into dir. */
export function writeConfig(
  who: CollectorName,
  caseFile: string,
  dir: string,
  vars: Record<string, string | number>,
): string {
  const sub = who === 'fluent-bit' ? 'fluent-bit' : 'fluentd';
  let text = readFileSync(join(CONFIGS, sub, caseFile), 'utf8');
  const all: Record<string, string | number> = { ...vars, DIR: dir, CONFIGS };
  text = text.replace(/\{\{(\w+)\}\}/g, (_, k: string) => {
    if (all[k] === undefined) throw new Error(`${sub}/${caseFile}: no value for {{${k}}}`);
    return String(all[k]);
  });
  const file = join(dir, `${who}-${caseFile}`);
  writeFileSync(file, text);
  return file;
}

export function start(who: CollectorName, conf: string, nodeArgs: string[]): Running {
  let cmd: string;
  let args: string[];
  if (who === 'sluice') {
    cmd = process.execPath;
    args = [...nodeArgs, sluiceEntry().path, '-c', conf, '-v'];
  } else if (who === 'fluent-bit') {
    cmd = process.env.FLUENT_BIT_BIN!;
    args = ['-c', conf];
  } else {
    cmd = process.env.FLUENTD_BIN!;
    args = ['-c', conf, '--no-supervisor'];
  }
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => {
    out += d;
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    proc,
    output: () => out,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Resolves once `re` is in the collector's output; rejects if it exits or `ms` pass. */
export async function waitOutput(r: Running, re: RegExp, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!re.test(r.output())) {
    if (r.proc.exitCode !== null)
      throw new Error(`exited (${r.proc.exitCode}) before ${re}: ${r.output().slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}: ${r.output().slice(-2000)}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** Resolves once 127.0.0.1:port takes connections (and `r` still runs). */
export async function waitPort(r: Running, port: number, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (ok) return;
    if (r.proc.exitCode !== null)
      throw new Error(`exited (${r.proc.exitCode}) before port ${port} opened: ${r.output().slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`port ${port} never opened: ${r.output().slice(-2000)}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}
