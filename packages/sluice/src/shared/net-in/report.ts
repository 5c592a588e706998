import type { ErrorCode } from '../../core/error-codes.ts';
import type { PluginContext } from '../../core/plugin.ts';

/** The error codes of the tcp, udp and syslog inputs (each has a row in docs/syslog.md and docs/errors.md). */
export type NetInputCode = Extract<
  ErrorCode,
  | 'INPUT_UNMATCHED'
  | 'MESSAGE_TOO_LONG'
  | 'SYSLOG_BAD_FRAME'
  | 'INPUT_MEMORY_LIMIT'
  | 'UDP_TRUNCATED'
  | 'UDP_QUEUE_FULL'
  | 'EMIT_FAILED'
  | 'CLIENT_DENIED'
>;

/** The counter (in ctx.metrics, read by monitor_agent and /metrics) each code adds to. */
const COUNTER: Record<NetInputCode, string> = {
  INPUT_UNMATCHED: 'unmatchedMessages',
  MESSAGE_TOO_LONG: 'droppedMessages',
  SYSLOG_BAD_FRAME: 'protocolErrors',
  INPUT_MEMORY_LIMIT: 'protocolErrors',
  UDP_TRUNCATED: 'truncatedMessages',
  UDP_QUEUE_FULL: 'droppedMessages',
  EMIT_FAILED: 'droppedMessages',
  CLIENT_DENIED: 'deniedConnections',
};

/** Counters the inputs keep, set to 0 at start so a monitor shows them before the first problem. */
export const NET_COUNTERS = [...new Set(Object.values(COUNTER))];

const QUIET_MS = 10_000;

/**
 * Reports bad input: each problem adds to its counter; the log gets the first of each code
 * in full, then at most one line per code every 10 s with how many were not logged in
 * between, so a flood of bad messages cannot flood the log too.
 */
export class Reporter {
  private readonly last = new Map<NetInputCode, { at: number; suppressed: number }>();

  constructor(private readonly ctx: PluginContext) {
    for (const k of NET_COUNTERS) ctx.metrics[k] ??= 0;
  }

  problem(
    code: NetInputCode,
    level: 'warn' | 'error',
    msg: string,
    fields: Record<string, unknown> = {},
    count = 1,
  ): void {
    const key = COUNTER[code];
    this.ctx.metrics[key] = ((this.ctx.metrics[key] as number | undefined) ?? 0) + count;
    const now = Date.now();
    const l = this.last.get(code);
    if (l && now - l.at < QUIET_MS) {
      l.suppressed += count;
      return;
    }
    const suppressed = l?.suppressed ?? 0;
    this.last.set(code, { at: now, suppressed: 0 });
    this.ctx.logger[level]({ code, ...fields, ...(suppressed > 0 ? { suppressed } : {}) }, msg);
  }

  /**
   * A message whose sink threw (INPUT_UNMATCHED): reported with the head of the message
   * (`b[s, e)`), so that one bad message takes neither its connection nor the process down.
   */
  sinkFailed(input: string, err: unknown, remote: string, b: Buffer, s: number, e: number): void {
    this.problem('INPUT_UNMATCHED', 'error', `${input}: invalid input: ${(err as Error).message}`, {
      remote,
      head: b.toString('utf8', s, Math.min(e, s + 32)),
    });
  }
}
