import cluster from 'node:cluster';
import type { Command } from 'commander';
import { evaluateConf, settingsFromConf } from '../agent/conf-file.ts';
import { buildAgentConfig } from '../agent/config.ts';
import { parseArgs, settingsFromArgs, sluiceExtras, USAGE } from '../agent/options.ts';
import { type AgentSettings, AgentUsageError } from '../agent/settings.ts';
import { errorText } from './options.ts';

/**
 * `sluice agent`: fluent-agent-lite's command line (and its conf file, with --conf) as a
 * preset over the engine: tail -> forward, positions kept, one process for every file.
 * Options are parsed here with fluent-agent-lite's getopts rules, not commander's.
 */
export function register(program: Command): void {
  program
    .command('agent')
    .description(
      'fluent-agent-lite compatible agent: tail files (or stdin) to forward servers (sluice agent -h)',
    )
    .helpOption(false)
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .argument('[args...]')
    .action(async (_args: string[], _o: unknown, cmd: Command) => {
      // The agent's runner (and the engine under it) is loaded only when the agent runs:
      // every sluice process registers this command.
      const { runAgent, SETTINGS_ENV } = await import('../agent/runner.ts');
      const argv = cmd.args;
      let settings: AgentSettings;
      let printOnly = false;
      const inherited = process.env[SETTINGS_ENV];
      if (cluster.isWorker && inherited) {
        await runAgent(JSON.parse(inherited) as AgentSettings);
        return;
      }
      try {
        const parsed = parseArgs(argv);
        if (parsed.short.has('h') || parsed.long.has('help')) {
          process.stdout.write(USAGE);
          return;
        }
        printOnly = parsed.long.get('print-config') === true;
        const conf = parsed.long.get('conf');
        if (typeof conf === 'string') {
          // -v is the one short option that makes sense with a conf file (LOG_VERBOSE).
          const shorts = [...parsed.short.keys()].filter((k) => k !== 'v');
          if (parsed.positional.length > 0 || shorts.length > 0) {
            throw new AgentUsageError(
              `--conf takes its settings from the file; drop ${[...shorts.map((k) => `-${k}`), ...parsed.positional].join(' ')}`,
            );
          }
          settings = settingsFromConf(evaluateConf(conf), sluiceExtras(parsed.long), {
            stateDir: parsed.long.has('state-dir'),
            ack: parsed.long.has('ack'),
          });
          if (parsed.short.has('v')) settings.verbose = true;
        } else {
          settings = settingsFromArgs(parsed);
        }
      } catch (e) {
        process.stderr.write(errorText('sluice agent', e));
        process.exit(1);
      }
      if (printOnly) {
        process.stdout.write(buildAgentConfig(settings));
        return;
      }
      try {
        await runAgent(settings);
      } catch (e) {
        process.stderr.write(errorText('sluice agent', e));
        process.exit(1);
      }
    });
}
