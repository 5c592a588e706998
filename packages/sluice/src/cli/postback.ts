import cluster from 'node:cluster';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { errorText } from './options.ts';
import {
  buildConfig,
  type PostbackSettings,
  readSettings,
  UNKNOWN_VARIABLE,
  unknownVariables,
} from './postback-config.ts';
import { registerRun } from './run.ts';

/**
 * `sluice postback`: post2log configured by its own P2L_* variables. Writes the generated
 * config next to the logs and runs it like `sluice run -c`; with P2L_WORKERS > 1 the
 * run's supervisor forks workers that re-enter here and generate the same config.
 */
export function register(program: Command): void {
  program
    .command('postback')
    .description(
      'run the post2log postback server from P2L_* variables (P2L_BIND, P2L_PORT, P2L_ENDPOINT, P2L_WORKERS, P2L_LOGDIR, ...)',
    )
    .option('--print-config', 'print the generated config and exit')
    .option('-o, --log <path>', "write Sluice's own log to this file instead of stderr")
    .action(async (o: { printConfig?: boolean; log?: string }) => {
      let text: string;
      let logDir: string;
      // Workers re-enter here with the same environment: the supervisor has warned already.
      if (cluster.isPrimary)
        for (const w of unknownVariables())
          process.stderr.write(`sluice postback: warning ${UNKNOWN_VARIABLE}: ${w}\n`);
      let settings: PostbackSettings;
      try {
        settings = readSettings();
        text = buildConfig(settings);
        logDir = settings.logDir;
      } catch (e) {
        process.stderr.write(errorText('sluice postback', e));
        process.exit(1);
      }
      if (o.printConfig) {
        process.stdout.write(text);
        return;
      }
      try {
        mkdirSync(logDir, { recursive: true });
      } catch (e) {
        process.stderr.write(
          `sluice postback: cannot create the log directory ${logDir} (P2L_LOGDIR): ${(e as Error).message}\n`,
        );
        process.exit(1);
      }
      // The user's part goes into a file named after its variable, so a config error in it
      // reads `.../P2L_FLUENTD_OUTCONF:3:5: ...` rather than a line of a generated file.
      const dir = join(tmpdir(), `sluice-postback-${process.pid}`);
      mkdirSync(dir, { recursive: true });
      process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
      writeFileSync(join(dir, 'P2L_FLUENTD_OUTCONF'), `${settings.outConf.trim()}\n`);
      const file = join(dir, 'generated-from-P2L-variables.conf');
      writeFileSync(file, buildConfig(settings, { outConfFile: join(dir, 'P2L_FLUENTD_OUTCONF') }));
      const run = new Command('sluice');
      registerRun(run);
      await run.parseAsync(['run', '-c', file, ...(o.log ? ['-o', o.log] : [])], { from: 'user' });
    });
}
