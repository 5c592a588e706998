import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { workerExecArgv } from '../core/heap-flags.ts';

/**
 * `<system> workers N`: the primary forks N workers that each run the whole pipeline;
 * listening sockets are shared through node:cluster, so in_forward / in_http ports serve
 * from every worker. A worker that dies is restarted with a growing delay, as Fluentd's
 * supervisor does; signals are relayed.
 */
export function runSupervisor(opts: { workers: number; logger: Logger }): Promise<void> {
  const { workers, logger } = opts;
  const alive = new Map<number, Worker>();
  const restarts = new Array<number>(workers).fill(0);
  let stopping = false;

  const fork = (id: number) => {
    const w = cluster.fork({ SLUICE_WORKER_ID: String(id) });
    alive.set(id, w);
    w.on('exit', (code, signal) => {
      alive.delete(id);
      if (stopping) {
        if (alive.size === 0) process.exit(0);
        return;
      }
      const delay = Math.min(60_000, 1000 * 2 ** restarts[id]!);
      restarts[id]!++;
      logger.error(
        { code: 'WORKER_EXITED', worker: id, exitCode: code, signal, restartInMs: delay },
        'worker exited; restarting',
      );
      setTimeout(() => fork(id), delay);
    });
    w.on('online', () => {
      // A worker that stayed up a while is healthy again: reset its backoff.
      setTimeout(() => {
        if (alive.get(id) === w) restarts[id] = 0;
      }, 60_000).unref();
    });
  };
  cluster.setupPrimary({ execArgv: workerExecArgv(process.execArgv, process.env.NODE_OPTIONS) });
  for (let i = 0; i < workers; i++) fork(i);
  logger.info({ workers }, 'supervisor started');

  const relay = (signal: NodeJS.Signals) => {
    if (signal === 'SIGTERM' || signal === 'SIGINT') {
      if (stopping) return;
      stopping = true;
      if (alive.size === 0) process.exit(0);
    }
    for (const w of alive.values()) w.send(signal);
  };
  for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const)
    process.on(s, () => relay(s));
  return new Promise(() => undefined);
}
