import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  type AgentSettings,
  AgentUsageError,
  clampTimings,
  KEEPALIVE_DEFAULT_S,
  loadServerList,
  numberOf,
  parseServer,
  READ_BUFFER_DEFAULT,
  RECONNECT_RATE_DEFAULT,
  RECONNECT_WAIT_MAX_DEFAULT_S,
} from './settings.ts';

export const USAGE = `Usage: sluice agent [options] TAG TARGET_FILE PRIMARY_SERVER[:PORT] [SECONDARY_SERVER[:PORT]]
       sluice agent -p SERVER_LIST_FILE [-s SERVER_LIST_FILE] [options] TAG TARGET_FILE
       sluice agent --conf /etc/fluent-agent-lite.conf [--state-dir DIR] [--ack]

       port default: 24224; TARGET_FILE '-' reads standard input
Options (fluent-agent-lite's):
     -f FIELDNAME                fieldname of fluentd log message attribute (DEFAULT: message)
     -p LIST_PATH                primary servers list (server[:port] per line, random selected one server)
     -s LIST_PATH                secondary servers list (server[:port] per line, random selected one server)
     -b BUF_SIZE                 most bytes read and sent as one batch (DEFAULT: 1MB)
     -n NICE                     process nice (DEFAULT: 0)
     -t TAIL_PATH                accepted and unused: Sluice reads the file itself
     -i SECONDS                  accepted and unused: Sluice is told of new lines by inotify
     -l LOG_PATH                 log file path (DEFAULT: standard error)
     -P TAG:DATA                 send a ping message per minute with specified TAG and DATA (DEFAULT: not to send)
     -S SECONDS                  ping message interval seconds (DEFAULT: 60)
     -d DRAIN_LOG_TAG            emits drain log to fluentd: messages per drain/send (DEFAULT: not to emits)
     -k KEEPALIVE_TIME           connection keepalive time in seconds. 0 means infinity (DEFAULT: 1800, minimum: 120)
     -w RECONNECT_WAIT_MAX       the maximum wait time for TCP socket reconnection in seconds (DEFAULT: 3600, minimum: 0.5)
     -r RECONNECT_WAIT_INCR_RATE the rate to increment the reconnect time (DEFAULT: 1.5, minimum: 1.0)
     -j                          use JSON for message structure in transfering (not supported: exits with an error)
     -v                          output logs of level debug and info (DEFAULT: warn/crit only)
     -F                          force start even if input file is not found
     -h                          print this message
Options (Sluice's):
     --conf FILE                 run every LOGS entry of a fluent-agent-lite conf file (a shell script, read with bash)
     --state-dir DIR             where positions and the buffer are kept (DEFAULT: $STATE_DIRECTORY,
                                 else /var/lib/sluice-agent as root, else ~/.local/state/sluice-agent)
     --ack                       wait for the server's ack of each batch (require_ack_response)
     --buffer file|memory        file: batches survive a restart while servers are down (DEFAULT: file)
     --buffer-limit BYTES        what all files may hold in their buffers together before reading pauses
                                 (DEFAULT: 64 MiB for memory, 512 MiB for file)
     --workers N                 processes the files are spread over (DEFAULT: one per core, at most one per file)
     --read-from-head            read files met for the first time from their start (DEFAULT: from their end, as tail -n 0)
     --recover-wait SECONDS      healthy heartbeats needed before a failed server is used again (DEFAULT: 10)
     --print-config              print the generated Sluice config and exit
`;

/** Options of fluent-agent-lite that take a value (its getopts string f:p:s:b:n:t:i:l:P:S:d:k:w:r:jvFh). */
const WITH_VALUE = new Set('fpsbntilPSdkwr'.split(''));
const FLAGS = new Set('jvFh'.split(''));
const LONG_WITH_VALUE = new Set(['conf', 'state-dir', 'buffer', 'buffer-limit', 'recover-wait', 'workers']);
const LONG_FLAGS = new Set(['ack', 'print-config', 'help', 'read-from-head']);

export interface ParsedArgs {
  short: Map<string, string | true>;
  long: Map<string, string | true>;
  positional: string[];
}

/**
 * Getopt::Std's rules: options come first, may be clustered (`-vF`) and take their value
 * attached (`-fmsg`) or as the next argument; the first non-option (or `-`, or after `--`)
 * starts the positional arguments. Long options (Sluice's) may be mixed with the short ones.
 */
export function parseArgs(argv: string[]): ParsedArgs {
  const short = new Map<string, string | true>();
  const long = new Map<string, string | true>();
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (LONG_FLAGS.has(name)) {
        if (eq > 0) throw new AgentUsageError(`--${name} takes no value`);
        long.set(name, true);
      } else if (LONG_WITH_VALUE.has(name)) {
        const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
        if (v === undefined) throw new AgentUsageError(`--${name} needs a value`);
        long.set(name, v);
      } else {
        throw new AgentUsageError(`unknown option --${name} (see sluice agent -h)`);
      }
      continue;
    }
    if (!a.startsWith('-') || a === '-') break;
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      if (FLAGS.has(c)) {
        short.set(c, true);
      } else if (WITH_VALUE.has(c)) {
        const rest = a.slice(j + 1);
        const v = rest !== '' ? rest : argv[++i];
        if (v === undefined) throw new AgentUsageError(`option -${c} needs a value (see sluice agent -h)`);
        short.set(c, v);
        break;
      } else {
        throw new AgentUsageError(`unknown option -${c} (see sluice agent -h)`);
      }
    }
  }
  return { short, long, positional: argv.slice(i) };
}

/** $STATE_DIRECTORY (systemd's StateDirectory=), else a per-user or system directory. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromSystemd = env.STATE_DIRECTORY?.split(':')[0];
  if (fromSystemd) return fromSystemd;
  if (process.getuid?.() === 0) return '/var/lib/sluice-agent';
  return join(env.HOME || homedir(), '.local', 'state', 'sluice-agent');
}

/** The Sluice-only settings shared by both modes. */
export function sluiceExtras(
  long: Map<string, string | true>,
): Pick<
  AgentSettings,
  'stateDir' | 'ack' | 'buffer' | 'recoverWaitS' | 'readFromHead' | 'workers' | 'bufferLimit'
> {
  const buffer = (long.get('buffer') as string | undefined) ?? 'file';
  if (buffer !== 'file' && buffer !== 'memory')
    throw new AgentUsageError(`--buffer must be 'file' or 'memory' (got '${buffer}')`);
  const rw = long.get('recover-wait');
  const recoverWaitS = typeof rw === 'string' ? numberOf(rw, '--recover-wait') : 10;
  if (recoverWaitS <= 0) throw new AgentUsageError('--recover-wait must be more than 0 seconds');
  const wk = long.get('workers');
  const workers = typeof wk === 'string' ? numberOf(wk, '--workers') : undefined;
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 1))
    throw new AgentUsageError('--workers must be a whole number, at least 1');
  const bl = long.get('buffer-limit');
  const bufferLimit = typeof bl === 'string' ? numberOf(bl, '--buffer-limit') : undefined;
  if (bufferLimit !== undefined && bufferLimit < 1024 * 1024)
    throw new AgentUsageError('--buffer-limit must be at least 1048576 bytes');
  return {
    bufferLimit,
    workers,
    stateDir: (long.get('state-dir') as string | undefined) ?? defaultStateDir(),
    ack: long.get('ack') === true,
    buffer,
    recoverWaitS,
    readFromHead: long.get('read-from-head') === true,
  };
}

/** fluent-agent-lite's command line (bin/fluent-agent-lite) turned into settings. */
export function settingsFromArgs(args: ParsedArgs): AgentSettings {
  const { short: o, positional } = args;
  const str = (c: string) => (typeof o.get(c) === 'string' ? (o.get(c) as string) : undefined);
  const [tag, inputFile, ...servers] = positional;
  if (!tag || inputFile === undefined || inputFile === '') {
    throw new AgentUsageError('TAG and TARGET_FILE are required (see sluice agent -h)');
  }
  if (servers.length > 2)
    throw new AgentUsageError(
      `too many arguments: ${servers.slice(2).join(' ')} (at most a primary and a secondary server)`,
    );
  const primary = servers[0] !== undefined ? [parseServer(servers[0], 'PRIMARY_SERVER')] : [];
  const secondary = servers[1] !== undefined ? [parseServer(servers[1], 'SECONDARY_SERVER')] : [];
  if (str('p') !== undefined) primary.push(...loadServerList(str('p')!, 'primary'));
  if (str('s') !== undefined) secondary.push(...loadServerList(str('s')!, 'secondary'));
  if (primary.length === 0)
    throw new AgentUsageError('no primary server: give PRIMARY_SERVER[:PORT] or -p LIST_PATH');

  let readBufferSize = READ_BUFFER_DEFAULT;
  if (str('b') !== undefined && numberOf(str('b')!, '-b') > 0)
    readBufferSize = Math.floor(numberOf(str('b')!, '-b'));

  let ping: AgentSettings['ping'];
  if (str('P') !== undefined) {
    const m = /^([^:]+):(.+)$/s.exec(str('P')!);
    if (!m) throw new AgentUsageError(`-P: '${str('P')}' is not TAG:DATA`);
    // As fluent-agent-lite: -S 0 (or none) means 60.
    const interval = (str('S') !== undefined ? numberOf(str('S')!, '-S') : 0) || 60;
    if (interval < 0) throw new AgentUsageError('-S: the ping interval must be more than 0 seconds');
    ping = { tag: m[1]!, data: m[2]!, intervalS: interval };
  }
  // fluent-agent-lite ignores negative -k/-w/-r (keeps the default).
  const nonNegative = (c: string, dflt: number) => {
    if (str(c) === undefined) return dflt;
    const n = numberOf(str(c)!, `-${c}`);
    return n >= 0 ? n : dflt;
  };
  const s: AgentSettings = {
    logs: [{ tag, path: inputFile }],
    primary,
    secondary,
    fieldName: str('f') || 'message',
    readBufferSize,
    nice: str('n') !== undefined ? numberOf(str('n')!, '-n') : undefined,
    tailPath: str('t'),
    tailInterval: str('i') !== undefined ? numberOf(str('i')!, '-i') : undefined,
    logPath: str('l'),
    ping,
    drainLogTag: str('d') || undefined,
    keepaliveS: nonNegative('k', KEEPALIVE_DEFAULT_S),
    reconnectWaitMaxS: nonNegative('w', RECONNECT_WAIT_MAX_DEFAULT_S),
    reconnectWaitIncrRate: nonNegative('r', RECONNECT_RATE_DEFAULT),
    json: o.get('j') === true,
    verbose: o.get('v') === true,
    forceStart: o.get('F') === true,
    ...sluiceExtras(args.long),
    warnings: [],
  };
  clampTimings(s);
  return s;
}
