import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { keepYoungGenerationSmall } from '../core/heap-flags.ts';
import { MODULE_EXT } from '../core/module-ext.ts';
import { VERSION } from '../core/version.ts';
import { registerCheck } from './check.ts';
import { registerRun } from './run.ts';

const here = dirname(fileURLToPath(import.meta.url));

/** Subcommands that live in their own files and are picked up when present. */
const OPTIONAL_COMMANDS = ['cat', 'postback', 'agent'];

export async function main(argv: string[]): Promise<void> {
  keepYoungGenerationSmall();
  const program = new Command('sluice')
    .description('Log collector, router and shipper that reads fluent.conf and speaks the forward protocol')
    .version(VERSION, '--version', 'print the version')
    .showHelpAfterError()
    // `run` is the default command, so its options (what a Fluentd user types first) are
    // not in the top-level option list: say them here.
    .addHelpText(
      'after',
      `
Running a pipeline (the default command, as with fluentd):
  sluice -c fluent.conf            run it (-c, or SLUICE_CONFIG, or /etc/fluent/fluent.conf)
  sluice -c fluent.conf --dry-run  check it and print the pipeline (same as sluice check)
  options: --strict, -v/-vv, -q/-qq, --log-level LEVEL, -o LOGFILE; all of them: sluice run -h`,
    );
  registerRun(program);
  registerCheck(program);
  for (const name of OPTIONAL_COMMANDS) {
    const file = join(here, `${name}${MODULE_EXT}`);
    if (!existsSync(file)) continue;
    const mod = (await import(file)) as { register?: (p: Command) => void };
    mod.register?.(program);
  }
  await program.parseAsync(argv);
}
