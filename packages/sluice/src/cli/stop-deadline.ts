// The bound on a graceful stop, for `sluice run` and the agent's runner: inputs stop first and
// buffers are sent, but a destination that never answers must not keep the process alive.
import type { Logger } from 'pino';

/** How long a graceful stop may take (SLUICE_STOP_TIMEOUT_MS, default 30 s). */
export const STOP_DEADLINE_MS = Number(process.env.SLUICE_STOP_TIMEOUT_MS ?? 30_000);

/** Exits with status 1 (STOP_TIMEOUT) if the process is still running at the deadline. */
export function exitAtStopDeadline(logger: Logger): void {
  const timer = setTimeout(() => {
    logger.error(
      { code: 'STOP_TIMEOUT', deadlineMs: STOP_DEADLINE_MS },
      'graceful stop took too long; exiting',
    );
    process.exit(1);
  }, STOP_DEADLINE_MS);
  // the timer alone does not keep the process alive
  timer.unref();
}
