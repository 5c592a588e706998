import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { whatToDo } from '../core/error-codes.ts';
import { SluiceError } from '../core/errors.ts';
import { LOG_LEVELS, type LogLevel } from '../core/logger.ts';

/** Fluentd's default config path, used when neither -c nor SLUICE_CONFIG is given. */
export const FLUENTD_DEFAULT_CONFIG = '/etc/fluent/fluent.conf';

export interface CommonOptions {
  config?: string;
  logLevel?: string;
  verbose: number;
  quiet: number;
  log?: string;
  /** `run --strict`, `check --strict`: unknown parameters and sections are errors */
  strict?: boolean;
}

const count = (_: string, prev: number) => prev + 1;

/** The flags a Fluentd user already types: -c, -v/-vv, -q/-qq, -o, plus --log-level. */
export function addCommonOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <path>', 'config file (Fluentd syntax, or YAML by extension)')
    .option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')}`)
    .option('-v, --verbose', 'more log output (-v debug, -vv trace)', count, 0)
    .option('-q, --quiet', 'less log output (-q warn, -qq error)', count, 0)
    .option('-o, --log <path>', "write Sluice's own log to this file instead of stderr");
}

/**
 * What a command prints when it stops on an error: the message, then the error's code and
 * what to do (docs/errors.md) when it has one.
 */
export function errorText(command: string, e: unknown): string {
  const todo = whatToDo(e);
  return `${command}: ${(e as Error).message}\n${todo ? `${command}: ${todo}\n` : ''}`;
}

export function configPath(o: CommonOptions): string {
  // FLUENTD_CONF is not read here: in Fluentd's image it names a file inside /fluentd/etc, and the
  // container entrypoint (deploy/docker/entrypoint.sh) turns it into -c.
  const p = o.config ?? process.env.SLUICE_CONFIG;
  if (p) return p;
  if (existsSync(FLUENTD_DEFAULT_CONFIG)) return FLUENTD_DEFAULT_CONFIG;
  throw new SluiceError(
    'CLI_NO_CONFIG',
    `no config file: give -c PATH (or set SLUICE_CONFIG); ${FLUENTD_DEFAULT_CONFIG} does not exist`,
  );
}

/** Command-line level wins over <system> log_level; -v/-q shift from info as Fluentd's do. */
export function logLevel(o: CommonOptions, fromSystem?: string): LogLevel {
  if (o.logLevel) {
    if (!LOG_LEVELS.includes(o.logLevel as LogLevel))
      throw new SluiceError('CLI_BAD_OPTION', `--log-level must be one of ${LOG_LEVELS.join(', ')}`);
    return o.logLevel as LogLevel;
  }
  if (o.verbose || o.quiet) {
    const i = LOG_LEVELS.indexOf('info') - o.verbose + o.quiet;
    return LOG_LEVELS[Math.max(0, Math.min(LOG_LEVELS.length - 1, i))]!;
  }
  return (fromSystem as LogLevel | undefined) ?? 'info';
}
