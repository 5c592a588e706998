import cluster from 'node:cluster';
import { existsSync, mkdirSync } from 'node:fs';
import { availableParallelism, setPriority } from 'node:os';
import { join } from 'node:path';
import { exitAtStopDeadline } from '../cli/stop-deadline.ts';
import { runSupervisor } from '../cli/supervisor.ts';
import { parseConfigText } from '../config/parser.ts';
import { createLogger } from '../core/logger.ts';
import { Engine } from '../engine/engine.ts';
import { stdinEvents } from '../plugins/input/stdin.ts';
import { buildAgentConfig } from './config.ts';
import { AgentForwardOutput, registerAgentPlugins } from './plugins.ts';
import { type AgentSettings, AgentUsageError } from './settings.ts';

/** Checks what fluent-agent-lite checks before it starts: the input files (unless -F), -j. */
export function preflight(s: AgentSettings): void {
  if (s.json) {
    throw new AgentUsageError(
      '-j (JSON transfer) is not supported: Sluice sends MessagePack (PackedForward), which every Fluentd and Fluent Bit forward input reads. Drop -j.',
    );
  }
  if (!s.forceStart) {
    for (const l of s.logs)
      if (l.path !== '-' && !existsSync(l.path))
        throw new AgentUsageError(
          `cannot find input file ${l.path} (use -F to start anyway and wait for it)`,
        );
  }
  if (s.logs.filter((l) => l.path === '-').length > 1)
    throw new AgentUsageError('standard input (-) can be read by one entry only');
}

/** How many processes the files are spread over: never more than files, one with stdin. */
export function workerCount(s: AgentSettings, cores = availableParallelism()): number {
  if (s.logs.some((l) => l.path === '-')) return 1;
  return Math.max(1, Math.min(s.workers ?? cores, s.logs.length));
}

/** The files worker `id` of `n` reads (round robin, so sizes even out over many files). */
export function partition<T>(logs: T[], id: number, n: number): T[] {
  return logs.filter((_, i) => i % n === id);
}

/** Set in the primary so workers take the settings as they are instead of evaluating the conf again. */
export const SETTINGS_ENV = 'SLUICE_AGENT_SETTINGS';

/**
 * Runs the agent: the generated config on the Engine, in this process, or spread over
 * worker processes (node:cluster, the supervisor of `<system> workers`) when there are
 * several files and cores. SIGHUP reconnects to the servers (fluent-agent-lite's reload),
 * SIGTERM/SIGINT stop after flushing; with standard input as the file, the agent stops by
 * itself once every line was delivered.
 */
export async function runAgent(s: AgentSettings): Promise<void> {
  preflight(s);
  const n = workerCount(s);
  const { logger: root } = createLogger({ level: s.verbose ? 'debug' : 'warn', file: s.logPath });
  if (n > 1 && cluster.isPrimary) {
    for (const w of s.warnings) root.warn({ code: 'AGENT_SETTING' }, w);
    process.env[SETTINGS_ENV] = JSON.stringify(s);
    let online = 0;
    cluster.on('message', (_w, m) => {
      if (m === 'agent-started' && ++online === n) {
        root.info({ workers: n, files: s.logs.map((l) => l.path), pid: process.pid }, 'sluice agent started');
      }
    });
    return runSupervisor({ workers: n, logger: root });
  }
  const workerId = cluster.isWorker ? Number(process.env.SLUICE_WORKER_ID ?? 0) : 0;
  const logger = cluster.isWorker ? root.child({ worker: workerId }) : root;
  const mine: AgentSettings = cluster.isWorker ? { ...s, logs: partition(s.logs, workerId, n) } : s;
  if (!cluster.isWorker) for (const w of s.warnings) logger.warn({ code: 'AGENT_SETTING' }, w);
  if (s.nice !== undefined) {
    try {
      setPriority(s.nice);
    } catch (e) {
      logger.warn(
        { code: 'PROCESS_NICE_FAILED', nice: s.nice, err: (e as Error).message },
        'cannot change the process priority',
      );
    }
  }
  if (s.tailPath || s.tailInterval !== undefined) {
    logger.debug(
      '-t and -i are accepted for compatibility: Sluice reads files itself and is told of new lines by inotify',
    );
  }
  mkdirSync(join(s.stateDir, 'pos'), { recursive: true });
  registerAgentPlugins();
  const engine = await Engine.create(parseConfigText(buildAgentConfig(mine), { file: '(sluice agent)' }), {
    logger,
  });
  const outputs = engine.plugins.flatMap((p) =>
    p.output?.plugin instanceof AgentForwardOutput ? [p.output.plugin] : [],
  );

  let stopping = false;
  const stop = async (why: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    logger.info({ why }, 'stopping: inputs first, then the buffer is sent');
    exitAtStopDeadline(logger);
    await engine.stop();
    logger.info('process exit');
    process.exit(code);
  };
  const onSignal = (sig: string) => {
    if (sig === 'SIGTERM' || sig === 'SIGINT') void stop(sig);
    else if (sig === 'SIGHUP') for (const o of outputs) o.reconnect('SIGHUP');
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => onSignal(sig));
  // Workers get signals from the supervisor as messages.
  if (cluster.isWorker) process.on('message', (m: unknown) => typeof m === 'string' && onSignal(m));
  stdinEvents.once('end', () => void stop('end of standard input'));

  await engine.start();
  const info = {
    files: mine.logs.map((l) => l.path),
    primary: s.primary,
    secondary: s.secondary,
    stateDir: s.stateDir,
    pid: process.pid,
  };
  if (cluster.isWorker) {
    logger.info(info, 'sluice agent worker started');
    process.send?.('agent-started');
  } else {
    logger.info(info, 'sluice agent started');
  }
}
