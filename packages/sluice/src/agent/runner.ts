import { existsSync, mkdirSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../config/parser.ts';
import { Engine } from '../core/engine.ts';
import { createLogger } from '../core/logger.ts';
import { stdinEvents } from '../plugins/input/stdin.ts';
import { buildAgentConfig } from './config.ts';
import { AgentForwardOutput, registerAgentPlugins } from './plugins.ts';
import { type AgentSettings, AgentUsageError } from './settings.ts';

/** How long a graceful stop may take before the process exits anyway. */
const STOP_DEADLINE_MS = Number(process.env.SLUICE_STOP_TIMEOUT_MS ?? 30_000);

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

/**
 * Runs the agent: the generated config on the Engine, in this process. SIGHUP reconnects
 * to the servers (fluent-agent-lite's reload), SIGTERM/SIGINT stop after flushing; with
 * standard input as the file, the agent stops by itself once every line was delivered.
 */
export async function runAgent(s: AgentSettings): Promise<void> {
  preflight(s);
  const { logger } = createLogger({ level: s.verbose ? 'debug' : 'warn', file: s.logPath });
  for (const w of s.warnings) logger.warn(w);
  if (s.nice !== undefined) {
    try {
      setPriority(s.nice);
    } catch (e) {
      logger.warn({ nice: s.nice, err: (e as Error).message }, 'cannot change the process priority');
    }
  }
  if (s.tailPath || s.tailInterval !== undefined) {
    logger.debug(
      '-t and -i are accepted for compatibility: Sluice reads files itself and is told of new lines by inotify',
    );
  }
  mkdirSync(join(s.stateDir, 'pos'), { recursive: true });
  registerAgentPlugins();
  const text = buildAgentConfig(s);
  const engine = await Engine.create(parseConfigText(text, { file: '(sluice agent)' }), { logger });
  const outputs = engine.plugins.flatMap((p) =>
    p.output?.plugin instanceof AgentForwardOutput ? [p.output.plugin] : [],
  );

  let stopping = false;
  const stop = async (why: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    logger.info({ why }, 'stopping: inputs first, then the buffer is sent');
    const timer = setTimeout(() => {
      logger.error({ deadlineMs: STOP_DEADLINE_MS }, 'graceful stop took too long; exiting');
      process.exit(1);
    }, STOP_DEADLINE_MS);
    timer.unref();
    await engine.stop();
    logger.info('process exit');
    process.exit(code);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGHUP', () => {
    for (const o of outputs) o.reconnect('SIGHUP');
  });
  stdinEvents.once('end', () => void stop('end of standard input'));

  await engine.start();
  logger.info(
    {
      files: s.logs.map((l) => l.path),
      primary: s.primary,
      secondary: s.secondary,
      stateDir: s.stateDir,
      pid: process.pid,
    },
    'sluice agent started',
  );
}
