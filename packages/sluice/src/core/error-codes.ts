/**
 * The catalogue of every error (and warning) code a Sluice user can meet: in an exception's
 * `code`, in a log line's `code` field, or at the head of a message (`CODE: ...`). Codes are
 * stable: logs, alerts and tests key on them, so a code is never renamed or reused for another
 * cause. docs/errors.md is generated from this table (`npm run docs:errors`) and
 * test/core/error-codes.test.ts fails when a code used in the sources is missing here, when an
 * entry is no longer used, or when docs/errors.md is out of date.
 *
 * The file is long because it is one table: splitting it per area would let two areas give one
 * code two meanings.
 */

export interface ErrorInfo {
  /** The part of Sluice that raises or logs it (a layer, a command or a plugin type). */
  readonly where: string;
  /** What happened, in one sentence. */
  readonly means: string;
  /** What the user does about it, in one sentence. */
  readonly todo: string;
}

const e = (where: string, means: string, todo: string): ErrorInfo => ({ where, means, todo });

const SEE_CONFIG =
  'fix what the message names at the file:line:column it gives; `sluice check -c FILE` reports every error of a config in one run';

export const ERROR_CODES = {
  // --- configuration ---------------------------------------------------------------------
  SLUICE_CONFIG: e(
    'config',
    'The configuration is invalid (a value, a missing parameter, a section in the wrong place).',
    SEE_CONFIG,
  ),
  CONFIG_SYNTAX: e(
    'config',
    'The config text cannot be read as Fluentd syntax (an unterminated string, a misplaced tag, an unsupported `#{...}`).',
    'fix the text at the file:line:column the message gives',
  ),
  CONFIG_VALUE: e(
    'config',
    'A parameter has a value of the wrong form or out of range.',
    "give a value of the form the message names (docs/plugins gives each parameter's type and range)",
  ),
  CONFIG_MISSING: e(
    'config',
    'A required parameter or section is missing.',
    'add the parameter or section the message names',
  ),
  CONFIG_READ: e(
    'config',
    'The config file, or a file an @include / !include names, cannot be found or read.',
    'check the path and its permissions',
  ),
  CONFIG_UNKNOWN: e(
    'config',
    'A parameter or section no plugin of this type knows: warned and ignored, as Fluentd does (an error with `--strict`).',
    'fix its spelling (the message gives the closest name) or remove it; `--strict` turns it into an error',
  ),
  CONFIG_EMPTY_NUMBER: e(
    'config',
    'A number, size or duration parameter is empty (often `"#{ENV[\'X\']}"` with X unset) and is read as 0, as Fluentd does (an error with `--strict`).',
    'set the environment variable or give the parameter a value',
  ),
  PLUGIN_NOT_BUILT: e(
    'config',
    'The config names a plugin type that Sluice does not build (a Fluentd plugin or a typo).',
    'use the type the message suggests, or what docs/migrating-from-fluentd.md lists for it',
  ),
  PLUGIN_BAD_FILE: e(
    'engine',
    'A plugin file of the installation does not export a descriptor of its kind.',
    'reinstall Sluice (the installed files are damaged or mixed from two versions)',
  ),
  LABEL_NOT_FOUND: e(
    'engine',
    'Events were sent to a label the running config does not define.',
    'add the `<label>` the message names, or fix the @label that points to it',
  ),
  POSTBACK_ENV: e(
    'sluice postback',
    'A P2L_* environment variable has a value the postback server cannot use.',
    'set the variable the message names to a value of the form it gives (docs/postback.md)',
  ),
  P2L_UNKNOWN_VARIABLE: e(
    'sluice postback',
    'A P2L_* environment variable Sluice does not know is ignored.',
    'fix its name (the message gives the closest known one) or remove it',
  ),
  CLI_NO_CONFIG: e(
    'sluice run / check',
    'No config file was given and /etc/fluent/fluent.conf does not exist.',
    'give `-c PATH` or set SLUICE_CONFIG',
  ),
  CLI_BAD_OPTION: e(
    'sluice (command line)',
    'A command-line option has a value Sluice does not accept.',
    'use one of the values the message lists; `sluice <command> -h` shows every option',
  ),
  AGENT_OPTIONS: e(
    'sluice agent',
    'The agent command line or its conf file asks for something the agent cannot do.',
    'drop or fix the options the message names (docs/agent.md)',
  ),
  AGENT_SETTING: e(
    'sluice agent',
    'An agent setting is below its minimum and was raised to it.',
    'set it to at least the minimum the message gives',
  ),

  // --- engine and pipeline ---------------------------------------------------------------
  SLUICE_NO_BUILD: e(
    'bin/sluice.js',
    'The compiled build (packages/sluice/dist) is missing or older than the sources, and tsx, the development dependency that runs the sources, is not installed (a production install).',
    'run `npm run build` where the sources are (or install with the dev dependencies)',
  ),
  EMIT_FAILED: e(
    'inputs',
    'The outputs refused a batch (e.g. a buffer with `overflow_action throw_exception` is full); its events were not accepted.',
    'look for the output error logged just before (buffer full, output down); raise the buffer limits or fix the destination',
  ),
  INPUT_UNMATCHED: e(
    'inputs, parsers',
    'A line or message did not match the parser (or had no time); it is dropped or routed as unmatched.',
    'fix the `<parse>` pattern or format for these lines (the log line quotes one)',
  ),
  FILTER_FAILED: e(
    'engine',
    'A filter threw on a batch; its events go to the @ERROR label.',
    'fix the filter config the error names, or handle the events in `<label @ERROR>`',
  ),
  ERROR_EVENT: e(
    'engine',
    'An event failed (a filter, a parser, an output) and the config has no `<label @ERROR>`, so it is logged and dropped.',
    'add a `<label @ERROR>` to keep such events; the log line has the record and the error',
  ),
  ERROR_LABEL_FAILED: e(
    'engine',
    'The @ERROR label refused an error event; it is lost.',
    'fix the output inside `<label @ERROR>` (its own error is logged)',
  ),
  NO_MATCH: e(
    'engine',
    'Events with this tag match no `<match>`; they are dropped (logged once per tag).',
    'add a `<match>` for the tag, or a catch-all `<match **>`',
  ),
  STORE_IGNORED_ERROR: e(
    'copy',
    'A `<store>` of out_copy refused the events and has `ignore_error`; the other stores got them.',
    'fix the destination of that store (its error is in the log line)',
  ),
  OUTPUT_STOP_FAILED: e(
    'engine',
    'An output did not stop cleanly at shutdown or reload.',
    'check the output error in the log line; a file buffer keeps its chunks for the next start',
  ),
  STOP_TIMEOUT: e(
    'sluice run / agent',
    'The graceful stop took longer than SLUICE_STOP_TIMEOUT_MS; the process exited 1.',
    'raise SLUICE_STOP_TIMEOUT_MS or look for the output that does not finish its flush',
  ),
  RELOAD_INVALID: e(
    'sluice run',
    'SIGHUP/SIGUSR2: the new config is invalid; the running pipeline is kept.',
    'fix the config (`sluice check -c FILE`) and send the signal again',
  ),
  RELOAD_START_FAILED: e(
    'sluice run',
    'SIGHUP/SIGUSR2: the new pipeline failed to start; the previous one was restarted.',
    'fix the error in the log line (a port in use, a destination down) and reload again',
  ),
  FLUSH_FAILED: e(
    'sluice run',
    'SIGUSR1: flushing the buffers failed.',
    'look at the output errors logged with it; the chunks stay queued and are retried',
  ),
  WORKER_EXITED: e(
    'sluice run (workers)',
    'A worker process exited; the supervisor restarts it after a delay.',
    "look at the worker's last log lines for its error",
  ),
  PROCESS_NICE_FAILED: e(
    'sluice agent',
    'The process priority (PROCESS_NICE) could not be changed.',
    'run with the right to lower the priority (CAP_SYS_NICE or root) or drop PROCESS_NICE',
  ),
  MONITOR_TAP_FAILED: e(
    'monitor',
    'A live-tail tap of the monitor failed and was removed; the pipeline is unaffected.',
    'open the live tail again; report it if it repeats',
  ),
  MONITOR_REQUEST_FAILED: e(
    'monitor',
    'A request to the monitoring HTTP server failed.',
    'check the path and parameters of the request; the error is in the log line',
  ),
  MONITOR_LISTEN_FAILED: e(
    'monitor',
    'The monitoring HTTP server failed (e.g. its port is in use).',
    'free the port or change `port`/`bind` of the monitor_agent source',
  ),
  BUILT_IN: e(
    'prometheus_monitor',
    "Information, not an error: the metrics prometheus_monitor adds are always served by Sluice's prometheus input.",
    'nothing; the source can be removed',
  ),
  INTERNAL: e(
    'any',
    'An internal invariant of Sluice did not hold (a bug).',
    'report it as a bug, with the log line and the config',
  ),

  // --- buffer ----------------------------------------------------------------------------
  SLUICE_BUFFER_OVERFLOW: e(
    'buffer',
    'A buffer is full (`total_limit_size`) and its `overflow_action` refuses the batch; inputs answer "try again later".',
    'raise `total_limit_size`, fix the slow or failing destination, or choose another `overflow_action`',
  ),
  SLUICE_BUFFER_LOCKED: e(
    'buffer',
    'A file buffer path is already used by another output or another running Sluice.',
    'give each buffered output its own `path` (or `@id` with `root_dir`)',
  ),
  BUFFER_IN_MEMORY: e(
    'buffer',
    'A file buffer has no `path` and there is no `<system> root_dir`: the buffer is kept in memory and lost on a crash.',
    'set `path` in `<buffer>` or `root_dir` in `<system>`',
  ),
  BUFFER_NOT_RUNNING: e(
    'buffer',
    'A batch reached an output that is not started or has stopped; it is refused.',
    "nothing during a stop or reload; otherwise look for the output's start error",
  ),
  BUFFER_DROP_OLDEST: e(
    'buffer',
    'The buffer was full and `overflow_action drop_oldest_chunk` dropped its oldest chunk.',
    'raise `total_limit_size` or fix the slow destination',
  ),
  BUFFER_RECORD_TOO_LARGE: e(
    'buffer',
    'One record is larger than `chunk_limit_size`; it is dropped.',
    'raise `chunk_limit_size` or make the records smaller',
  ),
  BUFFER_STORE_FAILED: e(
    'buffer',
    'The buffer could not store a batch (disk full, permissions, I/O error).',
    'free disk space or fix the permissions of the buffer path',
  ),
  BUFFER_IO_FAILED: e(
    'buffer',
    'A buffer chunk file could not be read, marked or deleted.',
    'check the disk and the permissions of the buffer path; a chunk not deleted may be delivered again after a restart',
  ),
  BUFFER_CHUNK_TORN: e(
    'buffer',
    'A chunk file ended in a half-written entry (the process stopped mid-write); it was cut back to its last whole entry.',
    'nothing; the cut entry was never acknowledged',
  ),
  BUFFER_CHUNK_CORRUPT: e(
    'buffer',
    'A chunk file holds bytes that are not msgpack entries, or a header Sluice cannot read; it was kept up to the damage or moved to `corrupt/`.',
    'check the disk; the original is under `<path>/corrupt/` for inspection',
  ),
  BUFFER_SLOW_FS: e(
    'buffer',
    'File buffer operations were slow (a network or overloaded filesystem); chunk files are now handled off the event loop.',
    'put the buffer path on a local disk',
  ),
  BUFFER_COMMIT_TIMEOUT: e(
    'buffer',
    "An output's write did not finish within `delayed_commit_timeout`; the chunk is retried.",
    'raise `delayed_commit_timeout` or fix the slow destination',
  ),
  BUFFER_RETRY: e(
    'buffer',
    "Writing a chunk failed; it is retried with the buffer's backoff.",
    'fix the destination error in the log line; the chunk is kept until it succeeds or retries run out',
  ),
  BUFFER_RETRIES_EXHAUSTED: e(
    'buffer',
    'A chunk failed past `retry_timeout` / `retry_max_times`; it goes to `<secondary>` or the backup directory.',
    'fix the destination, then replay the backed-up chunk if needed',
  ),
  OUTPUT_WRITE_FAILED: e(
    'buffer',
    'An output failed for good on a chunk (an unrecoverable error).',
    'fix the cause in the log line; the chunk goes to `<secondary>` or the backup directory',
  ),
  BUFFER_SECONDARY: e(
    'buffer',
    'The primary output failed for good on a chunk; `<secondary>` is tried.',
    "fix the primary output's error in the log line",
  ),
  BUFFER_BACKED_UP: e(
    'buffer',
    'An undeliverable chunk was saved to the backup directory (`root_dir/backup`).',
    'fix the cause, then replay the backup file (e.g. with `sluice cat`)',
  ),
  BUFFER_LOST: e(
    'buffer',
    'Events were lost: a chunk that could not be backed up, or a memory buffer stopped with undelivered events.',
    "use a file buffer for events that must survive a stop, and check the backup directory's disk",
  ),
  CHUNK_BROKEN_ENTRY: e(
    'formatters',
    'A chunk holds bytes that are not a msgpack entry where a formatter reads it.',
    'check the buffer disk; the chunk is handled as any that fails for good',
  ),

  // --- shared input and output helpers --------------------------------------------------
  INPUT_MEMORY_LIMIT: e(
    'in_forward, in_http, in_tcp, in_syslog',
    "Unfinished frames or bodies across connections would pass the input's memory bound; the connection holding the most was closed.",
    'raise `total_partial_size_limit` (`total_body_size_limit` for http) if the senders are legitimate',
  ),
  BODY_TIMEOUT: e(
    'in_http',
    'A request body got no byte for `body_timeout`; the request was closed.',
    'raise `body_timeout` for slow clients',
  ),
  HTTP_REQUEST_FAILED: e(
    'in_http',
    'Handling an HTTP request failed (the client closed it before its body was whole, or the handler threw); the client got 500 if it was still connected.',
    "look at the error in the log line; report it if it is not the client's request",
  ),
  MESSAGE_TOO_LONG: e(
    'in_tcp, in_syslog',
    'A message is longer than `message_length_limit` (or, with octet counting, `total_partial_size_limit`); it is dropped.',
    "raise the limit, or fix the sender's framing",
  ),
  SYSLOG_BAD_FRAME: e(
    'in_tcp, in_syslog',
    'The stream cannot be split into messages (octet counting without a number); the connection is closed.',
    'fix `frame_type` to match the sender',
  ),
  UDP_TRUNCATED: e(
    'in_udp, in_syslog',
    'A datagram longer than `message_length_limit` was cut to it.',
    'raise `message_length_limit`',
  ),
  UDP_QUEUE_FULL: e(
    'in_udp, in_syslog',
    'Datagrams waiting for the outputs passed `queue_size_limit`; datagrams are dropped until the queue drains.',
    'raise `queue_size_limit` or fix the slow output',
  ),
  CLIENT_DENIED: e(
    'in_tcp',
    'A client that no `<client>` entry of `<security>` allows; the connection is closed.',
    'add the client to `<security>` if it is legitimate',
  ),
  UDP_SOCKET_ERROR: e(
    'in_udp, in_syslog',
    'The UDP socket reported an error.',
    'check the error in the log line (address in use, permissions)',
  ),
  TLS_HANDSHAKE_FAILED: e(
    'in_tcp, in_syslog',
    'A TLS handshake with a client failed.',
    "check the client's certificate, TLS version and the `<transport tls>` settings",
  ),
  LISTEN_FAILED: e(
    'inputs',
    'A listening socket failed (e.g. its port is in use).',
    'free the port or change `port`/`bind`',
  ),
  FILE_PATH_OUTSIDE: e(
    'out_file',
    'A placeholder made the file path leave the configured directory; the write is refused.',
    'fix the `path` placeholders, or the tag/record values that fill them',
  ),
  PARSE_TIMEOUT_IGNORED: e(
    'parsers',
    '`<parse> timeout` is accepted for compatibility but not enforced.',
    'nothing; remove `timeout` to silence the warning',
  ),
  INJECT_TIME_FORMAT_IGNORED: e(
    'formatters',
    '`<inject>` has `time_format` without `time_key`; it is ignored.',
    'set `time_key`, or remove `time_format`',
  ),
  MULTILINE_NO_START: e(
    'in_tail multiline',
    'A line came before the first line matching `format_firstline`; it is dropped.',
    'fix `format_firstline` to match the first line of each record',
  ),
  PARSE_TYPES: e(
    'parsers',
    '`types` names a conversion Sluice does not know.',
    'use string, integer, float, bool, time or array',
  ),

  // --- plugins (one plugin each unless said) ---------------------------------------------
  PARAM_DEPRECATED: e(
    'plugins',
    'A parameter that the plugin (as its Fluentd original) keeps only for old configs.',
    'use the parameter the message names instead',
  ),
  INPUT_FAILED: e(
    'inputs',
    'An input stopped on an error; it reads nothing more until a restart or reload.',
    'fix the cause in the log line, then reload (SIGHUP) or restart',
  ),
  EMIT_RETRY: e(
    'in_stdin',
    'The pipeline refused a batch of stdin lines; it is offered again after a pause.',
    'look for the output error logged with it (buffer full, output down)',
  ),
  STDIN_READ_FAILED: e(
    'in_stdin',
    'Reading standard input failed; no more lines are read.',
    'check what feeds stdin (a closed pipe, a terminal)',
  ),
  TAIL_READ_FAILED: e(
    'in_tail',
    'Reading a followed file failed; it is tried again at the next change or refresh.',
    'check the file and its permissions (the error is in the log line)',
  ),
  TAIL_UNREADABLE: e(
    'in_tail',
    'A file the path matches cannot be read (permissions); it is skipped and examined again at the next refresh.',
    'give the Sluice user read access to the file',
  ),
  TAIL_REREAD_AT_START: e(
    'in_tail',
    'At shutdown some lines could not be handed on in time; their position was not saved, so the next start reads them again.',
    'nothing (the lines are read again); a slow output at shutdown is the cause',
  ),
  FORWARD_CHUNK_SIZE_WARN: e(
    'in_forward',
    'A frame is larger than `chunk_size_warn_limit`.',
    "lower the sender's chunk size, or raise `chunk_size_warn_limit`",
  ),
  FORWARD_SIGNAL_DROPPED: e(
    'in_forward',
    'A frame of metrics or traces (`fluent_signal` other than 0) was dropped: only logs are read.',
    'send only logs to Sluice, or route metrics and traces elsewhere',
  ),
  FORWARD_SERVER_DETACHED: e(
    'out_forward',
    'A server failed (connection, heartbeat, handshake); it gets no chunks until it recovers.',
    'check the server and the network (the reason is in the log line)',
  ),
  FORWARD_SERVER_RECOVERED: e('out_forward', 'A detached server is back and takes chunks again.', 'nothing'),
  HTTP_REQUEST_REFUSED: e(
    'in_http',
    'A request was answered 400 (a body that does not decode, a bad time or tag); logged with `dump_error_log`.',
    "fix the client's request (the reason is in the log line)",
  ),
  HTTP_ERROR_RESPONSE: e(
    'out_http',
    'The endpoint answered an error status not in `retryable_response_codes`: the chunk fails for good with `error_response_as_unrecoverable`, else it is logged and counts as sent.',
    'fix the endpoint, or list the status in `retryable_response_codes`',
  ),
  HTTP_SEND_FAILED: e(
    'out_http',
    'A request to the endpoint failed (connection, timeout, a retried status); the chunk is retried.',
    'check the endpoint and the network',
  ),
  HTTP_BAD_ENDPOINT: e(
    'out_http',
    '`endpoint` with its placeholders filled is not a valid URL; the chunk fails for good.',
    'fix `endpoint` or the chunk keys its placeholders use',
  ),
  RECORD_TRANSFORMER_JSON: e(
    'record_transformer',
    'With `auto_typecast`, a value that looks like JSON did not parse; it is kept as a string.',
    'nothing, or fix the value that produces the text',
  ),
  RECORD_TRANSFORMER_PLACEHOLDER: e(
    'record_transformer',
    'A `${...}` placeholder names nothing record_transformer knows; it is left as is.',
    'fix the placeholder (docs/plugins/filter-record_transformer.md lists them)',
  ),
  REWRITE_TAG_PLACEHOLDER: e(
    'rewrite_tag_filter',
    'A `${...}` placeholder of a rule names nothing; it is left as is.',
    "fix the rule's tag",
  ),
  CONCAT_FLUSH_FAILED: e(
    'concat',
    'Flushing the events concat holds after `flush_interval` failed.',
    'look at the error in the log line (usually the next output refusing)',
  ),
  FILTER_INVALID_RECORD: e(
    'filter_parser',
    "A record's `key_name` field did not parse; with `emit_invalid_record_to_error` it goes to @ERROR.",
    'fix the `<parse>` of the filter, or set `reserve_data` to keep such records',
  ),
  KAFKA_NO_DEFAULT_TOPIC: e(
    'out_kafka2',
    "The topic comes from the record's topic field with no fallback (`default_topic`, or `tag` in the chunk keys).",
    'set `default_topic`, or add `tag` to the `<buffer>` chunk keys',
  ),
  KAFKA_EMIT_LIMIT: e(
    'in_kafka_group',
    'Emitting a batch failed more than `retry_emit_limit` times; the consumer is rebuilt.',
    'fix the output error in the log line, or raise `retry_emit_limit`',
  ),
  S3_PARAM_NO_EFFECT: e(
    'out_s3',
    'A parameter that fluent-plugin-s3 reads but that changes nothing in Sluice (`index_format`).',
    'remove it (docs/outputs/s3.md says why)',
  ),
  S3_SHARED_KEY: e(
    'out_s3',
    '`s3_object_key_format` has no per-chunk placeholder: chunks may share a key.',
    'add `%{index}`, `${chunk_id}`, `%{uuid_flush}` or `%{hex_random}` to the key format',
  ),
  S3_DELAYED_EVENTS: e(
    'out_s3',
    'Events older than `warn_for_delay` were put.',
    'nothing if expected; else look for what held them (an outage, a slow buffer)',
  ),
  S3_OVERWRITE: e(
    'out_s3',
    '`check_object` found an object under the key and `overwrite true` replaces it.',
    'nothing if expected; else add a per-chunk placeholder to the key format',
  ),
  SECONDARY_FILE_FULL: e(
    'secondary_file',
    'Every numbered file name of the dump (`.0` to the limit) exists.',
    'move old dumps away',
  ),
  NULL_NEVER_FLUSH: e(
    'out_null',
    '`never_flush true`: out_null fails every write on purpose (a test setting).',
    'set `never_flush false`',
  ),

  // --- in_forward / out_forward (codes of @sluice/forward) -------------------------------
  FRAME_TOO_LARGE: e(
    'in_forward',
    'A frame, or a length it declares, is beyond `chunk_size_limit`; the connection is closed.',
    'raise `chunk_size_limit` if the sender is legitimate, or lower its chunk size',
  ),
  INVALID_MSGPACK: e(
    'in_forward',
    'The peer sent bytes that are not msgpack; the connection is closed.',
    'check that the peer speaks the forward protocol (not HTTP or TLS to a plain port)',
  ),
  NOT_AN_ARRAY: e(
    'in_forward',
    'A frame is not a msgpack array; the connection is closed.',
    'check that the peer speaks the forward protocol',
  ),
  JSON_NOT_SUPPORTED: e(
    'in_forward',
    'The peer sent JSON frames, which Sluice does not read; the connection is closed.',
    'configure the peer to send msgpack',
  ),
  BAD_FRAME: e(
    'in_forward',
    'A frame has the wrong number of elements, or its events could not be read; the connection is closed.',
    "check the peer's forward implementation and version",
  ),
  BAD_TAG: e(
    'in_forward',
    "A frame's tag is not a non-empty string; the connection is closed.",
    'fix the tag the peer sends',
  ),
  BAD_ENTRY: e(
    'in_forward',
    'An entry is not `[time, record]`; the connection is closed.',
    'fix the peer, or set `skip_invalid_event true` to drop such entries',
  ),
  BAD_OPTION: e(
    'in_forward',
    "A frame's option is not a map; the connection is closed.",
    "check the peer's forward implementation",
  ),
  UNSUPPORTED_COMPRESSION: e(
    'in_forward',
    'A frame is compressed with something other than gzip; the connection is closed.',
    'configure the peer to use gzip or no compression',
  ),
  DECOMPRESSED_TOO_LARGE: e(
    'in_forward',
    'A gzip payload expands beyond the frame limit; the connection is closed.',
    'raise `chunk_size_limit` or send smaller chunks',
  ),
  HANDSHAKE: e(
    'in_forward, out_forward',
    'A malformed HELO/PING/PONG; the connection is closed.',
    'check that both ends speak the forward protocol with `<security>` set alike',
  ),
  HANDSHAKE_REFUSED: e(
    'in_forward',
    "A client's PING did not pass `<security>` (shared key, user, host); the connection is closed.",
    'set the same `shared_key` (and user/password) on both ends, or allow the host',
  ),
  HANDSHAKE_FAILED: e(
    'out_forward',
    'The server refused our PING, its PONG digest did not match, or it sent no PONG; the chunk is retried.',
    'set the same `shared_key` (and user/password) on both ends',
  ),
  FRAME_TIMEOUT: e(
    'in_forward',
    'An unfinished frame got no byte for `partial_frame_timeout`; it is dropped.',
    'raise `partial_frame_timeout` for slow links',
  ),
  FORWARD_NO_SERVER: e(
    'out_forward',
    'No server of the output is available; the chunk is retried.',
    'check that the `<server>`s are up and reachable (their errors are logged)',
  ),
  FORWARD_SEND_FAILED: e(
    'out_forward',
    'Sending a chunk to a server failed (connection lost, timeout, no ack); the chunk is retried.',
    'check the server and the network; raise `ack_response_timeout` for slow servers',
  ),

  // --- in_tail ---------------------------------------------------------------------------
  TAIL_NO_POS_FILE: e(
    'in_tail',
    'The source has no `pos_file`; positions are not kept across restarts.',
    'set `pos_file` so that a restart goes on where it stopped',
  ),

  // --- in_syslog -------------------------------------------------------------------------
  SYSLOG_5424_WITHOUT_PRIORITY: e(
    'in_syslog',
    '`message_format rfc5424` or `auto` with `with_priority false`: RFC 5424 messages will not parse.',
    'set `with_priority true` (RFC 5424 messages always start with `<PRI>`)',
  ),

  // --- out_rewrite_tag_filter ------------------------------------------------------------
  REWRITE_TAG_DROPPED: e(
    'rewrite_tag_filter',
    'A rule gives back the same tag under the same `<match>` (checked at start); Fluentd drops such events, and so does Sluice.',
    'change the rule so the new tag differs (e.g. add a prefix), as docs/rewrite-tag-filter-and-concat.md shows',
  ),

  // --- monitor_agent dashboard and search ------------------------------------------------
  MONITOR_DASHBOARD_AUTH: e(
    'monitor_agent',
    'The dashboard refused a request without the right token or user/password (or the config sets a password without a user).',
    'send the token or basic auth; set `dashboard_user` with `dashboard_password`',
  ),
  MONITOR_DASHBOARD_NO_AUTH: e(
    'monitor_agent',
    'The dashboard is bound to a non-loopback address without authentication.',
    'set `dashboard_token` or `dashboard_user`/`dashboard_password`, or bind to 127.0.0.1',
  ),
  MONITOR_DASHBOARD_HOST: e(
    'monitor_agent',
    'A dashboard without a token or password refused a request whose Host header is not localhost / 127.0.0.1 (a page of another site reaching it through DNS rebinding, or a proxy passing its own name).',
    'open the dashboard as http://127.0.0.1:PORT/ or http://localhost:PORT/; to serve it under another name, set `dashboard_token` or `dashboard_user`/`dashboard_password`',
  ),
  SEARCH_BAD_HOSTS: e(
    'monitor_agent search',
    "A `<search>` target's host is neither host:port nor a URL.",
    'fix `hosts` of the `<search>` target',
  ),
  SEARCH_DUPLICATE_NAME: e(
    'monitor_agent search',
    'A `<search>` name is already the @id of an elasticsearch/opensearch output.',
    'give the `<search>` another name',
  ),
  SEARCH_BODY_TOO_LARGE: e(
    'monitor search API',
    'A search request body is over the size limit.',
    'send a smaller request',
  ),
  SEARCH_API_REFUSED: e(
    'monitor search API',
    'The search API refused the request (method or path).',
    'use POST on the path the message gives',
  ),
  SEARCH_UNKNOWN_TARGET: e(
    'monitor search API',
    'No search target has this name.',
    'use a name listed by the dashboard (an output @id or a `<search>` name)',
  ),
  SEARCH_BAD_REQUEST: e(
    'monitor search API',
    'The request body is not a JSON object.',
    'send `Content-Type: application/json` with a JSON object',
  ),
  SEARCH_BAD_QUERY: e(
    'monitor search API',
    'The query is too long or the cluster refused it.',
    "fix the query (the cluster's reason is in the message)",
  ),
  SEARCH_BAD_TIME: e(
    'monitor search API',
    '`from`/`to` are missing, not times, or in the wrong order.',
    'give `now`, `now-15m` (units s m h d w M y), ISO 8601 times or epoch milliseconds, with `to` after `from`',
  ),
  SEARCH_BAD_FIELD: e('monitor search API', 'A field name is not valid.', 'use a field name of the records'),
  SEARCH_BAD_FILTER: e(
    'monitor search API',
    'The filters are not a list of field/scalar pairs.',
    'send filters as the message describes',
  ),
  SEARCH_BAD_SIZE: e(
    'monitor search API',
    '`size` is out of range.',
    'give an integer in the range the message gives',
  ),
  SEARCH_INDEX_REFUSED: e(
    'monitor search API',
    'The index pattern is not one the target may search.',
    "search the target's own indices",
  ),
  SEARCH_CLUSTER_AUTH: e(
    'monitor search API',
    "The cluster refused Sluice's credentials.",
    'fix `user`/`password` of the output or `<search>` target',
  ),
  SEARCH_CLUSTER_ERROR: e(
    'monitor search API',
    'The cluster answered with an error or not JSON.',
    'check the cluster (its answer is in the message)',
  ),
  SEARCH_CLUSTER_UNREACHABLE: e(
    'monitor search API',
    'No server of the target answered.',
    'check that the cluster is up and reachable from Sluice',
  ),

  // --- out_s3 ----------------------------------------------------------------------------
  S3_PARAM_NOT_BUILT: e(
    'out_s3',
    'A parameter or section of fluent-plugin-s3 that Sluice does not build is set to a value that asks for it.',
    'remove it or use what docs/outputs/s3.md says instead',
  ),
  S3_ENDPOINT: e('out_s3', '`s3_endpoint` is an AWS S3 endpoint.', 'use `s3_region` instead'),
  S3_CREDENTIALS: e(
    'out_s3',
    'Only one of `aws_key_id` and `aws_sec_key` is set.',
    'set both, or neither to use the default credential chain',
  ),
  S3_KEY_FORMAT: e(
    'out_s3',
    '`s3_object_key_format` has a placeholder fluent-plugin-s3 removed.',
    'use the placeholders docs/outputs/s3.md lists',
  ),
  S3_NO_BUCKET: e(
    'out_s3',
    'The bucket does not exist and `auto_create_bucket` is false.',
    'create the bucket or set `auto_create_bucket true`',
  ),
  S3_START_FAILED: e(
    'out_s3',
    'Checking the credentials or the bucket at start failed.',
    'check the credentials, the region and the network (the AWS error is in the message)',
  ),
  S3_UPLOAD_FAILED: e(
    'out_s3',
    "An upload failed; it is retried with the buffer's backoff under the same key.",
    'check the credentials, the bucket policy and the network',
  ),
  S3_OBJECT_EXISTS: e(
    'out_s3',
    "`check_object true` found another chunk's object under the key.",
    'add a per-chunk placeholder (`%{index}`, `%{uuid_flush}`) to the key format, or set `overwrite true`',
  ),
  S3_BROKEN_CHUNK: e(
    'out_s3',
    "The chunk's bytes are not msgpack entries.",
    'check the buffer disk; the chunk is backed up',
  ),

  // --- out_elasticsearch -----------------------------------------------------------------
  ES_PARAM_NOT_BUILT: e(
    'out_elasticsearch',
    'A parameter of the Ruby plugins that Sluice does not build is set to a value that asks for it.',
    'remove it or set it to the value docs/outputs/elasticsearch.md accepts',
  ),
  ES_UPDATE_NEEDS_ID_KEY: e(
    'out_elasticsearch',
    '`write_operation update` or `upsert` without `id_key`.',
    'set `id_key`',
  ),
  ES_DATA_STREAM_NAME: e(
    'out_elasticsearch',
    '`data_stream_name` breaks the data stream naming rules.',
    'use a lower-case name without the characters the message lists',
  ),
  ES_DATA_STREAM_CREATE_ONLY: e(
    'out_elasticsearch',
    '`data_stream_name` with a `write_operation` other than `create`.',
    'use `write_operation create` with data streams',
  ),
  ES_BAD_HOSTS: e(
    'out_elasticsearch',
    'An entry of `hosts` is neither host:port nor an http(s) URL.',
    'fix `hosts`',
  ),
  ES_CA_FILE: e('out_elasticsearch', '`ca_file` cannot be read.', "fix the path or the file's permissions"),
  ES_BAD_THRESHOLD: e(
    'out_elasticsearch',
    '`bulk_message_request_threshold` is neither a size nor -1.',
    'give a size (e.g. 20m) or -1',
  ),
  ES_BROKEN_CHUNK: e(
    'out_elasticsearch',
    "The chunk's bytes are not msgpack entries.",
    'check the buffer disk; the chunk is backed up',
  ),
  ES_SERVER_UNAVAILABLE: e(
    'out_elasticsearch',
    "The server's version or the data stream template could not be read or made; retried.",
    'check that the cluster is up and the credentials may read / and manage templates',
  ),
  ES_BULK_FAILED: e(
    'out_elasticsearch',
    'A whole bulk request failed; the chunk is retried.',
    'check the cluster and the network; raise `request_timeout` for slow clusters',
  ),
  ES_DOCUMENTS_RETRY: e(
    'out_elasticsearch',
    'Some documents were answered 429 or 5xx; only they are sent again.',
    'nothing if it passes; else give the cluster more capacity',
  ),
  ES_DOCUMENT_REJECTED: e(
    'out_elasticsearch',
    'The server rejected a document (4xx, e.g. a mapping conflict); it went to @ERROR or was logged.',
    "fix the mapping or the record (the server's reason is in the log line)",
  ),

  // --- Kafka -----------------------------------------------------------------------------
  KAFKA_NO_BROKERS: e(
    'out_kafka2, in_kafka_group',
    'No broker, or one that is not host:port.',
    'set `brokers` to host:port entries',
  ),
  KAFKA_IDEMPOTENT_ACKS: e(
    'out_kafka2',
    '`idempotent true` with `required_acks` other than -1.',
    'set `required_acks -1`',
  ),
  KAFKA_EXACTLY_ONCE: e(
    'out_kafka2',
    '`exactly_once` (or `transactional_id`) without the idempotent producer.',
    'set `required_acks -1` and leave `idempotent` unset or true',
  ),
  KAFKA_COMPRESSION: e(
    'out_kafka2',
    '`compression_codec zstd` on a Node without zstd in zlib.',
    'use Node 22.15 or later, or another codec',
  ),
  KAFKA_FORMAT: e(
    'out_kafka2, in_kafka_group',
    '`output_data_type` / `format` names a formatter or parser Sluice does not have.',
    'use one of the formatters or parsers docs/plugins lists',
  ),
  KAFKA_TLS_FILE: e(
    'out_kafka2, in_kafka_group',
    'A TLS file cannot be read, or a client certificate has no key.',
    'fix the paths and give the key with the certificate',
  ),
  KAFKA_SASL_NEEDS_TLS: e(
    'out_kafka2, in_kafka_group',
    'SASL without TLS and without `sasl_over_ssl false`.',
    'set up TLS, or `sasl_over_ssl false` on a trusted network',
  ),
  KAFKA_SASL_NOT_BUILT: e(
    'out_kafka2, in_kafka_group',
    'SASL GSSAPI or AWS MSK IAM, which Sluice does not build.',
    'use SASL PLAIN or SCRAM',
  ),
  KAFKA_ZOOKEEPER: e(
    'out_kafka2',
    '`zookeeper` is set; Sluice talks to brokers only.',
    'set `brokers` and remove `zookeeper`',
  ),
  KAFKA_LEGACY_TYPE: e(
    'out_kafka2',
    "The legacy `kafka_buffered` / `kafka` type (Fluentd's own warning).",
    'use `@type kafka2`',
  ),
  KAFKA_RECORD_TOO_LARGE: e(
    'out_kafka2',
    'A record over `max_send_limit_bytes` or refused by the broker as too large; not sent.',
    "raise the limits (and the broker's `message.max.bytes`) or make the records smaller",
  ),
  KAFKA_FORMAT_ERROR: e(
    'out_kafka2',
    'A record could not be formatted; not sent.',
    'fix the formatter config or the record (the error is in the log line)',
  ),
  KAFKA_SEND_FAILED: e(
    'out_kafka2',
    'A produce request failed; retried, or fatal for errors that cannot pass.',
    'check the brokers, the topic and its ACLs (the reason is in the message)',
  ),
  KAFKA_PARSE_ERROR: e(
    'in_kafka_group',
    'A message does not parse; skipped.',
    "fix `format` to match the topic's messages",
  ),
  KAFKA_COMMIT_FAILED: e(
    'in_kafka_group',
    'An offset commit failed; those messages may be read again.',
    'check the brokers and the group (a rebalance, a lost coordinator)',
  ),
  KAFKA_CONSUME_FAILED: e(
    'in_kafka_group',
    'The consumer failed; it is rebuilt after `retry_wait_seconds`.',
    'check the brokers, the topics and the group ACLs',
  ),

  // --- Firehose --------------------------------------------------------------------------
  FIREHOSE_PARAM_NOT_BUILT: e(
    'out_kinesis_firehose',
    'A parameter or section of fluent-plugin-kinesis that Sluice does not build.',
    'remove it (docs/outputs/kinesis_firehose.md says what to use)',
  ),
  FIREHOSE_CREDENTIALS: e(
    'out_kinesis_firehose',
    '`aws_key_id`, `aws_sec_key` and `aws_ses_token` are not set together.',
    'set the key id with the secret (and the token), or none for the default chain',
  ),
  FIREHOSE_BATCH_LIMIT: e(
    'out_kinesis_firehose',
    "`batch_request_max_size` is over the API's limit.",
    'lower it to the limit the message gives',
  ),
  FIREHOSE_NO_REGION: e(
    'out_kinesis_firehose',
    'No AWS region is set.',
    'set `region`, AWS_REGION, or a region in the profile',
  ),
  FIREHOSE_REQUEST_FAILED: e(
    'out_kinesis_firehose',
    'A PutRecordBatch request failed; the chunk is retried.',
    'check the credentials, the stream and the network (the AWS error is in the message)',
  ),
  FIREHOSE_RECORDS_FAILED: e(
    'out_kinesis_firehose',
    'Some records of a batch failed; the chunk is retried with them.',
    "nothing if it passes; else raise the stream's limits",
  ),
  FIREHOSE_RECORD_FAILED: e(
    'out_kinesis_firehose',
    'A record still failed after the retries; it goes to @ERROR.',
    "check the stream's limits and the error code in the log line",
  ),
  FIREHOSE_RECORD_INVALID: e(
    'out_kinesis_firehose',
    'A record could not be made (not a map, no `data_key`, the formatter failed); it goes to @ERROR.',
    'fix `data_key` or the formatter',
  ),
  FIREHOSE_RECORD_TOO_LARGE: e(
    'out_kinesis_firehose',
    "A record is over the API's size limit; it goes to @ERROR.",
    'make the records smaller',
  ),
  FIREHOSE_AUTH: e(
    'in_firehose',
    "A request's SigV4 signature or access key is missing or wrong.",
    'sign with an access key the input knows, for its region and service',
  ),
  FIREHOSE_UNKNOWN_STREAM: e(
    'in_firehose',
    'A request names a delivery stream the input does not serve.',
    "use a stream name the input's config declares",
  ),
  FIREHOSE_UNKNOWN_OPERATION: e(
    'in_firehose',
    'A request asks for an API operation the input does not serve.',
    'use PutRecord, PutRecordBatch, ListDeliveryStreams or DescribeDeliveryStream',
  ),
  FIREHOSE_INVALID_REQUEST: e(
    'in_firehose',
    'A request body is not valid for the operation.',
    "fix the client's request (the message says what failed)",
  ),
  FIREHOSE_LIMIT: e(
    'in_firehose',
    "A request passes one of the API's limits (records per call, bytes).",
    'send smaller batches',
  ),
  FIREHOSE_RECORDS_REFUSED: e(
    'in_firehose',
    'The pipeline refused records; they are reported failed so that the client sends them again.',
    'look for the output error logged with it (buffer full, output down)',
  ),
  FIREHOSE_UNPARSED: e(
    'in_firehose',
    'A record did not parse; it goes to @ERROR.',
    'fix `<parse>` for these records',
  ),
  FIREHOSE_HTTP_ACCESS_DENIED: e(
    'in_firehose (HTTP endpoint)',
    'A delivery without the right X-Amz-Firehose-Access-Key.',
    'set the same access key on the delivery stream and the input',
  ),
  FIREHOSE_HTTP_BAD_REQUEST: e(
    'in_firehose (HTTP endpoint)',
    "A delivery body that is not Firehose's JSON, or a source ARN naming no stream.",
    "check the delivery stream's HTTP endpoint settings, or set `http_endpoint_tag`",
  ),
} as const satisfies Record<string, ErrorInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(s: unknown): s is ErrorCode {
  return typeof s === 'string' && Object.hasOwn(ERROR_CODES, s);
}

/** The catalogue code at the head of a message (`S3_UPLOAD_FAILED: ...`), if any. */
export function codeInMessage(message: string): ErrorCode | undefined {
  const m = /^([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+): /.exec(message);
  return m && isErrorCode(m[1]) ? m[1] : undefined;
}

/**
 * The catalogue code of an error: its `code`, else the code its message starts with (many
 * plugins' errors say `CODE: ...`), else undefined.
 */
export function errorCodeOf(err: unknown): ErrorCode | undefined {
  const e = err as { code?: unknown; message?: unknown } | null | undefined;
  if (isErrorCode(e?.code)) return e.code;
  return typeof e?.message === 'string' ? codeInMessage(e.message) : undefined;
}

/**
 * The line a command prints under a fatal error's message: its code and what to do, e.g.
 * `SLUICE_CONFIG: fix what the message names ... (docs/errors.md)`. Undefined for an error
 * without a catalogue code.
 */
export function whatToDo(err: unknown): string | undefined {
  const code = errorCodeOf(err);
  return code && `${code}: ${ERROR_CODES[code].todo} (docs/errors.md)`;
}
