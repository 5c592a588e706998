import { existsSync, readFileSync } from 'node:fs';
import { SluiceError } from '../core/errors.ts';

/** One forward server, `host[:port]` (fluent-agent-lite's server_entry). */
export interface ServerAddr {
  host: string;
  port: number;
}

/** One tailed file and its tag; path `-` reads standard input. */
export interface LogEntry {
  tag: string;
  path: string;
}

/**
 * What `sluice agent` runs, whether it came from fluent-agent-lite's command line or from
 * its conf file. Field names follow fluent-agent-lite's options (letter in the comment).
 */
export interface AgentSettings {
  logs: LogEntry[];
  primary: ServerAddr[];
  secondary: ServerAddr[];
  /** -f: record key of the line */
  fieldName: string;
  /** -b: most bytes read and sent as one batch */
  readBufferSize: number;
  /** -n: process priority */
  nice?: number;
  /** -t: accepted for compatibility; Sluice reads files itself */
  tailPath?: string;
  /** -i: accepted for compatibility; Sluice is told of changes by inotify */
  tailInterval?: number;
  /** -l: Sluice's own log file (stderr when unset) */
  logPath?: string;
  /** -P TAG:DATA and -S SECONDS; each file's ping carries `DATA FILE`, as fluent-agent-lite's */
  ping?: { tag: string; data: string; intervalS: number };
  /** -d */
  drainLogTag?: string;
  /** -k: seconds a connection is kept before reconnecting; 0 = forever */
  keepaliveS: number;
  /** -w */
  reconnectWaitMaxS: number;
  /** -r */
  reconnectWaitIncrRate: number;
  /** -j */
  json: boolean;
  /** -v */
  verbose: boolean;
  /** -F */
  forceStart: boolean;
  // What fluent-agent-lite lacked (long options only):
  /** where positions (and the file buffer) are kept */
  stateDir: string;
  /** --ack: wait for the server's ack of every chunk */
  ack: boolean;
  /** --buffer: file (survives a restart while a server is down) or memory */
  buffer: 'file' | 'memory';
  /** --buffer-limit: bytes all files may hold in their buffers together (default 64 MiB memory, 512 MiB file) */
  bufferLimit?: number;
  /** --workers: processes the files are spread over (undefined = one per core, at most one per file) */
  workers?: number;
  /** --read-from-head: files met for the first time are read from their start, not their end */
  readFromHead: boolean;
  /** --recover-wait: seconds of good heartbeats before a failed server is used again */
  recoverWaitS: number;
  /** problems fluent-agent-lite also only warns about (values raised to their minimum) */
  warnings: string[];
}

export const DEFAULT_PORT = 24224;
export const KEEPALIVE_DEFAULT_S = 1800;
export const KEEPALIVE_MIN_S = 120;
export const RECONNECT_WAIT_MIN_S = 0.5;
export const RECONNECT_WAIT_MAX_DEFAULT_S = 3600;
export const RECONNECT_RATE_DEFAULT = 1.5;
export const RECONNECT_RATE_MIN = 1.0;
export const READ_BUFFER_DEFAULT = 1024 * 1024;

/** A setting that cannot work: the message names the option and what to do. */
export class AgentUsageError extends SluiceError {
  constructor(message: string) {
    super('AGENT_OPTIONS', message);
  }
}

/** `host[:port]`, as fluent-agent-lite's server_entry (port 24224 by default). IPv6 as `[::1]:port`. */
export function parseServer(text: string, where: string): ServerAddr {
  const s = text.trim();
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(s);
  const [host, port] = v6 ? [v6[1]!, v6[2]] : (s.split(':') as [string, string | undefined]);
  if (!host) throw new AgentUsageError(`${where}: '${text}' is not host[:port]`);
  if (port === undefined || port === '') return { host, port: DEFAULT_PORT };
  const n = Number(port);
  if (!/^\d+$/.test(port) || n < 1 || n > 65535)
    throw new AgentUsageError(`${where}: port '${port}' of '${text}' is not a port number (1-65535)`);
  return { host, port: n };
}

/** A server list file: `server[:port]` per line, blank lines skipped (load_server_list). */
export function loadServerList(path: string, which: 'primary' | 'secondary'): ServerAddr[] {
  if (!existsSync(path)) throw new AgentUsageError(`${which} server list file not exists: ${path}`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new AgentUsageError(`${which} server list file ${path} cannot be read: ${(e as Error).message}`);
  }
  const out: ServerAddr[] = [];
  text.split('\n').forEach((line, i) => {
    const l = line.replace(/\r$/, '');
    if (l.trim().length === 0) return;
    out.push(parseServer(l, `${path}:${i + 1}`));
  });
  return out;
}

/** A number option; `what` names it in the error. */
export function numberOf(value: string, what: string): number {
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(n))
    throw new AgentUsageError(`${what}: '${value}' is not a number`);
  return n;
}

/**
 * fluent-agent-lite's lower bounds: values under them are raised with a warning (as its
 * AgentLite.pm does), not refused.
 */
export function clampTimings(s: {
  keepaliveS: number;
  reconnectWaitMaxS: number;
  reconnectWaitIncrRate: number;
  warnings: string[];
}): void {
  if (s.keepaliveS !== 0 && s.keepaliveS < KEEPALIVE_MIN_S) {
    s.warnings.push(`Keepalive time setting is too short. Set minimum value ${KEEPALIVE_MIN_S}`);
    s.keepaliveS = KEEPALIVE_MIN_S;
  }
  if (s.reconnectWaitMaxS < RECONNECT_WAIT_MIN_S) {
    s.warnings.push(`Reconnect wait max is too short. Set minimum value ${RECONNECT_WAIT_MIN_S}`);
    s.reconnectWaitMaxS = RECONNECT_WAIT_MIN_S;
  }
  if (s.reconnectWaitIncrRate < RECONNECT_RATE_MIN) {
    s.warnings.push(`Reconnect wait incr rate is too small. Set minimum value ${RECONNECT_RATE_MIN}`);
    s.reconnectWaitIncrRate = RECONNECT_RATE_MIN;
  }
}
