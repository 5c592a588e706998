// How bench/vs starts each collector on a config of bench/vs/configs: Sluice (the compiled
// build when there is one) and Fluentd run the same Fluentd-syntax file, Fluent Bit its own.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { HERE } from '../vth/lib.ts';

export const CONFIGS = join(HERE, '../vs/configs');
const ROOT = join(HERE, '../..');
/** The private compiled build `--build` makes (not packages/sluice/dist, which tests may be using). */
const BUILD = join(ROOT, 'node_modules/.sluice-bench/pkg');

export type CollectorName = 'sluice' | 'fluent-bit' | 'fluentd';

export interface Running {
  proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Compiles Sluice into node_modules/.sluice-bench/pkg/dist with a run.js beside it. */
export function buildSluice(): void {
  const out = join(BUILD, 'dist');
  const r = spawnSync('nice', [process.execPath, join(ROOT, 'scripts/build.mjs'), '--out', out], {
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error('bench/vs: the build failed');
  // package.json makes dist/ an ES-module scope (and is where the CLI reads its version).
  copyFileSync(join(ROOT, 'packages/sluice/package.json'), join(BUILD, 'package.json'));
  writeFileSync(
    join(out, 'run.js'),
    "const { main } = await import('./cli/main.js');\nawait main(process.argv);\n",
  );
}

/** The Sluice entry point: SLUICE_BIN, else the private build, else bin/sluice.js. */
export function sluiceEntry(): { path: string; what: string } {
  if (process.env.SLUICE_BIN)
    return { path: process.env.SLUICE_BIN, what: `SLUICE_BIN=${process.env.SLUICE_BIN}` };
  const built = join(BUILD, 'dist/run.js');
  if (existsSync(built))
    return {
      path: built,
      what: `compiled build of ${readFileSync(join(BUILD, 'dist/BUILD'), 'utf8').trim()}`,
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
