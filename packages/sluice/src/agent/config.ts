import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { AgentSettings, LogEntry, ServerAddr } from './settings.ts';

/** A config value as a double-quoted string: nothing in it is interpolated or cut as a comment. */
export function quote(v: string | number | boolean): string {
  const s = String(v);
  const body = s.replace(
    /[\\"#\n\r\t]/g,
    (c) => ({ '\\': '\\\\', '"': '\\"', '#': '\\#', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c]!,
  );
  return `"${body}"`;
}

/** A short stable name for a file's state (pos file), from its tag and path. */
export function stateName(log: LogEntry): string {
  const safe = log.tag.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
  const h = createHash('sha1').update(`${log.tag}\0${log.path}`).digest('hex').slice(0, 10);
  return `${safe}-${h}`;
}

/** The buffer directory of this set of files: agents reading other files keep theirs apart. */
export function bufferName(s: AgentSettings): string {
  const key = s.logs
    .map((l) => `${l.tag}\0${l.path}`)
    .sort()
    .join('\n');
  return `buffer-${createHash('sha1').update(key).digest('hex').slice(0, 10)}`;
}

/** Chunk size: fluent-agent-lite's read size (-b) is what it sends at once; kept within sane bounds. */
export function chunkLimit(s: AgentSettings): number {
  const wanted = Math.min(64 * 1024 * 1024, Math.max(256 * 1024, s.readBufferSize));
  const budget = s.bufferLimit ?? (s.buffer === 'file' ? 512 * 1024 * 1024 : 64 * 1024 * 1024);
  // At least two chunks fit in a file's share of the budget (one filling, one sending).
  return Math.max(256 * 1024, Math.min(wanted, Math.floor(budget / Math.max(1, s.logs.length) / 2)));
}

function server(a: ServerAddr, standby: boolean): string {
  return `    <server>
      host ${quote(a.host)}
      port ${a.port}
      weight 60${standby ? '\n      standby true' : ''}
    </server>
`;
}

function source(s: AgentSettings, log: LogEntry): string {
  const parse = `  <parse>
    @type none
    message_key ${quote(s.fieldName)}
  </parse>
`;
  if (log.path === '-') {
    return `<source>
  @type stdin
  tag ${quote(log.tag)}
${parse}</source>
`;
  }
  // `tail -n 0 -F FILE`: a file met for the first time is read from its end; one that
  // appears later (-F) from its start. Positions make a restart resume where it stopped.
  return `<source>
  @type tail
  path ${quote(log.path)}
  tag ${quote(log.tag)}
  pos_file ${quote(join(s.stateDir, 'pos', `${stateName(log)}.pos`))}
  read_from_head ${s.readFromHead}
  read_lines_limit 1000
  refresh_interval 5s
${parse}</source>
`;
}

function ping(s: AgentSettings, log: LogEntry): string {
  if (!s.ping) return '';
  return `<source>
  @type ping_message
  tag ${quote(s.ping.tag)}
  data ${quote(`${s.ping.data} ${log.path}`)}
  interval ${s.ping.intervalS}
  emit_at_start true
</source>
`;
}

/** Per-file buffer limit: memory stays bounded however many files there are. */
export function totalLimit(s: AgentSettings): number {
  const budget = s.bufferLimit ?? (s.buffer === 'file' ? 512 * 1024 * 1024 : 64 * 1024 * 1024);
  const perFile = Math.floor(budget / Math.max(1, s.logs.length));
  // A chunk is the unit sent: a small budget makes smaller chunks rather than a larger limit.
  return Math.max(256 * 1024 * 2, perFile);
}

function output(s: AgentSettings, log: LogEntry): string {
  const buffer =
    s.buffer === 'file'
      ? `      @type file
      path ${quote(join(s.stateDir, 'buffer', stateName(log)))}
`
      : '      @type memory\n';
  return `  <match **>
    @type agent_forward
    agent_keepalive_time ${s.keepaliveS}
    keepalive true
    require_ack_response ${s.ack}
    ack_response_timeout 60
    connect_timeout 5
    send_timeout 60
    heartbeat_type transport
    heartbeat_interval 1
    recover_wait ${s.recoverWaitS}
    ignore_network_errors_at_startup true
${s.primary.map((a) => server(a, false)).join('')}${s.secondary.map((a) => server(a, true)).join('')}    <buffer tag>
${buffer}      chunk_limit_size ${chunkLimit(s)}
      total_limit_size ${totalLimit(s)}
      overflow_action block
      flush_mode interval
      flush_interval 0.05
      flush_thread_count 1
      flush_at_shutdown true
      retry_forever true
      retry_type exponential_backoff
      retry_wait 0.5
      retry_exponential_backoff_base ${s.reconnectWaitIncrRate}
      retry_max_interval ${s.reconnectWaitMaxS}
      retry_randomize false
    </buffer>
  </match>
`;
}

/**
 * The Sluice config that does what fluent-agent-lite did, one pipeline per file as it ran
 * one process per file: the file's tail (or stdin), its ping, its drain log and its own
 * forward output and buffer, in a label of its own. Reconnect waits follow -w/-r as the
 * buffer's retry schedule; a full buffer stops reading (memory stays flat while servers
 * are down). A buffer per file means any split of the files over worker processes finds
 * its chunks again after a restart.
 */
export function buildAgentConfig(s: AgentSettings): string {
  const parts: string[] = ['# generated by sluice agent\n'];
  s.logs.forEach((log, i) => {
    const label = `@FILE_${i}`;
    const withLabel = (src: string) => src.replace('<source>\n', `<source>\n  @label ${label}\n`);
    parts.push(withLabel(source(s, log)));
    if (s.ping) parts.push(withLabel(ping(s, log)));
    parts.push(`<label ${label}>\n`);
    if (s.drainLogTag) {
      parts.push(`  <filter **>
    @type agent_drain_log
    drain_log_tag ${quote(s.drainLogTag)}
    tags ${quote(JSON.stringify([log.tag]))}
  </filter>
`);
    }
    parts.push(output(s, log), '</label>\n');
  });
  return parts.join('');
}
