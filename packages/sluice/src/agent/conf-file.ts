import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import {
  type AgentSettings,
  AgentUsageError,
  clampTimings,
  KEEPALIVE_DEFAULT_S,
  type LogEntry,
  loadServerList,
  numberOf,
  parseServer,
  READ_BUFFER_DEFAULT,
  RECONNECT_RATE_DEFAULT,
  RECONNECT_WAIT_MAX_DEFAULT_S,
} from './settings.ts';

/** The variables fluent-agent-lite's init script reads from its conf file, plus Sluice's own. */
export const CONF_VARIABLES = [
  'TAG_PREFIX',
  'FIELD_NAME',
  'LOGS',
  'PRIMARY_SERVER',
  'PRIMARY_SERVERS_LIST',
  'SECONDARY_SERVER',
  'SECONDARY_SERVERS_LIST',
  'READ_BUFFER_SIZE',
  'PROCESS_NICE',
  'TAIL_INTERVAL',
  'TAIL_PATH',
  'PING_TAG',
  'PING_DATA',
  'PING_INTERVAL',
  'DRAIN_LOG_TAG',
  'KEEPALIVE_TIME',
  'RECONNECT_WAIT_MAX',
  'RECONNECT_WAIT_INCR_RATE',
  'LOG_PATH',
  'LOG_VERBOSE',
  'FORCE_START',
  'PERL_PATH',
  // Sluice's: what fluent-agent-lite lacked
  'STATE_DIR',
  'REQUIRE_ACK',
] as const;

export type ConfVars = Partial<Record<(typeof CONF_VARIABLES)[number], string>>;

/**
 * Runs the conf file with bash the way the init script does (`source $CONFIG_FILE`), so
 * `$(hostname)`, heredocs and files it writes work, then reads the variables back,
 * NUL-separated so values may hold newlines (LOGS). What the script prints goes to our
 * stderr; its exit status is ignored, as `source` in the init script ignores it.
 */
export function evaluateConf(file: string, env: NodeJS.ProcessEnv = process.env): ConfVars {
  try {
    accessSync(file, constants.R_OK);
  } catch {
    throw new AgentUsageError(`Config file does not exists (or is not readable): ${file}`);
  }
  const names = CONF_VARIABLES.join(' ');
  const script = `source "$1" >&2; for __v in ${names}; do printf '%s=%s\\0' "$__v" "\${!__v-}"; done`;
  const r = spawnSync('bash', ['-c', script, 'sluice-agent-conf', file], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
    timeout: 60_000,
  });
  if (r.error) throw new AgentUsageError(`cannot run bash to read ${file}: ${r.error.message}`);
  const stderr = r.stderr.toString('utf8').trim();
  const out = r.stdout.toString('utf8');
  if (r.signal || !out.includes('\0')) {
    throw new AgentUsageError(
      `bash could not evaluate ${file}${r.signal ? ` (killed by ${r.signal})` : ''}${stderr ? `: ${stderr}` : ''}`,
    );
  }
  const vars: ConfVars = {};
  for (const item of out.split('\0')) {
    const eq = item.indexOf('=');
    if (eq <= 0) continue;
    const v = item.slice(eq + 1);
    if (v !== '') vars[item.slice(0, eq) as keyof ConfVars] = v;
  }
  return vars;
}

/** `yes`/`1`/anything but no, 0, false (the init script's test for LOG_VERBOSE and FORCE_START). */
function truthy(v: string | undefined): boolean {
  return v !== undefined && v !== 'no' && v !== '0' && v !== 'false';
}

/** LOGS: `tag path` per line; lines starting with # and blank lines are skipped (as the init script). */
export function parseLogs(logs: string | undefined, tagPrefix: string | undefined): LogEntry[] {
  const out: LogEntry[] = [];
  const prefix = tagPrefix ? `${tagPrefix}.` : '';
  for (const line of (logs ?? '').split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const [tag, path] = line.trim().split(/\s+/);
    if (!tag || !path) throw new AgentUsageError(`LOGS: '${line}' is not 'tag /path/to/file'`);
    out.push({ tag: prefix + tag, path });
  }
  if (out.length === 0) throw new AgentUsageError('No input logfiles specified (LOGS is empty).');
  return out;
}

/**
 * The settings the init script would pass to one fluent-agent-lite per LOGS entry, for
 * all of them at once. `extras` are Sluice's long options (they win over the file).
 */
export function settingsFromConf(
  v: ConfVars,
  extras: Pick<
    AgentSettings,
    'stateDir' | 'ack' | 'buffer' | 'recoverWaitS' | 'readFromHead' | 'workers' | 'bufferLimit'
  >,
  explicit: { stateDir: boolean; ack: boolean },
): AgentSettings {
  const logs = parseLogs(v.LOGS, v.TAG_PREFIX);
  let primary: AgentSettings['primary'];
  let secondary: AgentSettings['secondary'] = [];
  if (v.PRIMARY_SERVER) {
    primary = [parseServer(v.PRIMARY_SERVER, 'PRIMARY_SERVER')];
    if (v.SECONDARY_SERVER) secondary = [parseServer(v.SECONDARY_SERVER, 'SECONDARY_SERVER')];
  } else if (v.PRIMARY_SERVERS_LIST) {
    primary = loadServerList(v.PRIMARY_SERVERS_LIST, 'primary');
    if (v.SECONDARY_SERVERS_LIST) secondary = loadServerList(v.SECONDARY_SERVERS_LIST, 'secondary');
    if (primary.length === 0)
      throw new AgentUsageError(`primary server list ${v.PRIMARY_SERVERS_LIST} has no server`);
  } else {
    throw new AgentUsageError('Invalid configuration... PRIMARY_SERVER/PRIMARY_SERVERS_LIST not found');
  }
  const forceStart = truthy(v.FORCE_START);
  if (!forceStart) {
    for (const l of logs) {
      if (l.path === '-') continue;
      try {
        accessSync(l.path, constants.R_OK);
      } catch {
        throw new AgentUsageError(
          `${l.path} does not exist or is not readable (set FORCE_START=yes to wait for it).`,
        );
      }
    }
  }
  if (v.TAIL_PATH) {
    try {
      accessSync(v.TAIL_PATH, constants.X_OK);
    } catch {
      throw new AgentUsageError(`invalid tail path: ${v.TAIL_PATH}`);
    }
  }
  let ping: AgentSettings['ping'];
  if (v.PING_TAG) {
    if (!v.PING_DATA) throw new AgentUsageError('ping data PING_DATA not specified');
    const interval = (v.PING_INTERVAL ? numberOf(v.PING_INTERVAL, 'PING_INTERVAL') : 0) || 60;
    if (interval < 0) throw new AgentUsageError('PING_INTERVAL must be more than 0 seconds');
    ping = { tag: v.PING_TAG, data: v.PING_DATA, intervalS: interval };
  }
  const nonNegative = (value: string | undefined, name: string, dflt: number) => {
    if (value === undefined) return dflt;
    const n = numberOf(value, name);
    return n >= 0 ? n : dflt;
  };
  const rbs = v.READ_BUFFER_SIZE ? numberOf(v.READ_BUFFER_SIZE, 'READ_BUFFER_SIZE') : 0;
  const s: AgentSettings = {
    logs,
    primary,
    secondary,
    fieldName: v.FIELD_NAME || 'message',
    readBufferSize: rbs > 0 ? Math.floor(rbs) : READ_BUFFER_DEFAULT,
    nice: v.PROCESS_NICE ? numberOf(v.PROCESS_NICE, 'PROCESS_NICE') : undefined,
    tailPath: v.TAIL_PATH,
    tailInterval: v.TAIL_INTERVAL ? numberOf(v.TAIL_INTERVAL, 'TAIL_INTERVAL') : undefined,
    logPath: v.LOG_PATH,
    ping,
    drainLogTag: v.DRAIN_LOG_TAG || undefined,
    keepaliveS: nonNegative(v.KEEPALIVE_TIME, 'KEEPALIVE_TIME', KEEPALIVE_DEFAULT_S),
    reconnectWaitMaxS: nonNegative(v.RECONNECT_WAIT_MAX, 'RECONNECT_WAIT_MAX', RECONNECT_WAIT_MAX_DEFAULT_S),
    reconnectWaitIncrRate: nonNegative(
      v.RECONNECT_WAIT_INCR_RATE,
      'RECONNECT_WAIT_INCR_RATE',
      RECONNECT_RATE_DEFAULT,
    ),
    json: false,
    verbose: truthy(v.LOG_VERBOSE),
    forceStart,
    ...extras,
    stateDir: explicit.stateDir || !v.STATE_DIR ? extras.stateDir : v.STATE_DIR,
    ack: explicit.ack || truthy(v.REQUIRE_ACK),
    warnings: [],
  };
  clampTimings(s);
  return s;
}
