import cluster from 'node:cluster';
import type { Command } from 'commander';
import type { ConfigElement } from '../config/ast.ts';
import { withConfigPolicy } from '../config/diagnostics.ts';
import { parseConfigFile } from '../config/parser.ts';
import { createLogger } from '../core/logger.ts';
import type { Engine } from '../engine/engine.ts';
import { readSystem } from '../engine/system.ts';
import { checkConfig } from './check.ts';
import { addCommonOptions, type CommonOptions, configPath, errorText, logLevel } from './options.ts';
import { exitAtStopDeadline } from './stop-deadline.ts';
import { runSupervisor } from './supervisor.ts';

interface RunOptions extends CommonOptions {
  dryRun?: boolean;
}

export function registerRun(program: Command): void {
  addCommonOptions(
    program.command('run', { isDefault: true }).description('run a pipeline (the default command)'),
  )
    .option('--dry-run', 'check the configuration and exit (same as `sluice check`)')
    .option(
      '--strict',
      'unknown parameters and sections are errors (by default warned and ignored, as in Fluentd)',
    )
    .action(async (o: RunOptions) => {
      if (o.dryRun) {
        process.exitCode = await checkConfig(o);
        return;
      }
      await run(o);
    });
}

function fail(e: unknown): never {
  process.stderr.write(errorText('sluice', e));
  process.exit(1);
}

async function run(o: RunOptions): Promise<void> {
  let path: string;
  let root: ConfigElement;
  let level: ReturnType<typeof logLevel>;
  let workers: number;
  try {
    path = configPath(o);
    root = parseConfigFile(path);
    // Only workers and the log level are read here; the engine reads <system> again and
    // warns about (or, with --strict, refuses) what it does not know.
    const sys = withConfigPolicy({ strict: false, warn: () => {} }, () => readSystem(root));
    level = logLevel(o, sys.log_level ?? undefined);
    workers = sys.workers;
    if (sys.process_name) process.title = sys.process_name;
  } catch (e) {
    return fail(e);
  }
  if (workers > 1 && cluster.isPrimary) {
    const { logger } = createLogger({ level, file: o.log });
    return runSupervisor({ workers, logger });
  }
  // Imported here, not at the top: a supervisor (workers > 1) never runs a pipeline, and
  // without the engine's modules it holds a fraction of a worker's memory.
  const { Engine } = await import('../engine/engine.ts');
  const workerId = cluster.isWorker ? Number(process.env.SLUICE_WORKER_ID ?? 0) : 0;
  const log = createLogger({ level, file: o.log });
  const logger = workerId > 0 || cluster.isWorker ? log.logger.child({ worker: workerId }) : log.logger;
  const build = (r: ConfigElement) =>
    Engine.create(r, { logger, setLogSink: log.setEventSink, workerId, workers, strict: o.strict });

  let engine: Engine | undefined;
  let stopping = false;
  // Startup, reloads and stop run one after another on this chain, so a signal that
  // arrives while the pipeline is starting waits for it instead of racing it.
  let chain: Promise<void> = Promise.resolve();
  const serial = (job: () => Promise<void>) => {
    chain = chain.then(job, job);
    return chain;
  };

  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: inputs first, then buffers flush');
    exitAtStopDeadline(logger);
    void serial(async () => {
      await engine?.stop();
      logger.info('stopped');
      process.exit(0);
    });
  };
  // A config that fails to validate is reported and the running pipeline keeps going.
  const reload = async () => {
    if (stopping || !engine) return;
    let next: Engine;
    try {
      next = await build(parseConfigFile(path));
    } catch (e) {
      logger.error(
        { code: 'RELOAD_INVALID', err: (e as Error).message },
        'reload: the new config is invalid; keeping the running pipeline',
      );
      return;
    }
    const previous = engine;
    await previous.stop();
    try {
      await next.start();
      engine = next;
      logger.info({ config: path }, 'reloaded');
    } catch (e) {
      logger.error(
        { code: 'RELOAD_START_FAILED', err: (e as Error).message },
        'reload: the new pipeline failed to start; restarting the previous one',
      );
      await next.stop().catch(() => undefined);
      engine = await build(previous.root);
      await engine.start();
    }
  };
  const flush = () => {
    logger.info('SIGUSR1: flushing all buffers');
    engine
      ?.flushAll()
      .catch((e: Error) => logger.error({ code: 'FLUSH_FAILED', err: e.message }, 'flush failed'));
  };
  const onSignal = (sig: string) => {
    if (sig === 'SIGTERM' || sig === 'SIGINT') stop(sig);
    else if (sig === 'SIGHUP' || sig === 'SIGUSR2') void serial(reload);
    else if (sig === 'SIGUSR1') flush();
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR2', 'SIGUSR1'] as const)
    process.on(sig, () => onSignal(sig));
  // A daemon runs until it is told to stop. Signal listeners do not keep Node's event loop
  // alive: without this timer, a moment with no open handle (between the old pipeline's
  // stop and the new one's start in a reload, or a config without inputs) let the process
  // exit 0 by itself.
  setInterval(() => undefined, 2 ** 30);
  // Workers get signals from the supervisor as messages.
  if (cluster.isWorker) process.on('message', (m: unknown) => typeof m === 'string' && onSignal(m));

  await serial(async () => {
    try {
      engine = await build(root);
      await engine.start();
    } catch (e) {
      fail(e);
    }
    logger.info(
      { config: path, worker: workerId, runningFrom: process.env.SLUICE_RUNNING_FROM },
      'sluice started',
    );
  });
}
