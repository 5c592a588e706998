import { createWriteStream } from 'node:fs';
import pino, { type Logger } from 'pino';
import { codeInMessage, errorCodeOf } from './error-codes.ts';
import { pinoPretty } from './lazy-require.ts';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** Receives Sluice's own log lines so the engine can route them as `fluent.<level>` events. */
export type LogEventSink = (level: LogLevel, message: string, fields: Record<string, unknown>) => void;

const PINO_LEVELS: Record<number, LogLevel> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/**
 * A line that logs an error (`err`, or `error` as an Error or its message) without a `code`
 * gets the error's catalogue code, so that every line about a coded error can be found by it.
 */
export function withErrorCode(fields: Record<string, unknown>): Record<string, unknown> {
  if (fields.code !== undefined) return fields;
  for (const f of [fields.err, fields.error]) {
    const code = typeof f === 'string' ? codeInMessage(f) : errorCodeOf(f);
    if (code) return { code, ...fields };
  }
  return fields;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** `-o PATH`: write the log to a file instead of stderr */
  file?: string;
  /** human-readable output (default: when stderr is a TTY and no file is given) */
  pretty?: boolean;
}

export interface SluiceLogger {
  logger: Logger;
  /** Set by the engine once it knows whether @FLUENT_LOG or a `fluent.**` match exists. */
  setEventSink(sink: LogEventSink | undefined): void;
}

/**
 * The internal log: structured (pino) JSON lines, pretty on a TTY, and tee'd into the
 * pipeline as `fluent.<level>` events when the config asks for them. Logs go to stderr
 * so that stdout stays clean for the stdout output's event lines.
 */
export function createLogger(opts: LoggerOptions = {}): SluiceLogger {
  let sink: LogEventSink | undefined;
  let inSink = false;
  const dest =
    opts.file !== undefined
      ? createWriteStream(opts.file, { flags: 'a' })
      : (opts.pretty ?? process.stderr.isTTY)
        ? pinoPretty()({
            colorize: true,
            destination: 2,
            sync: true,
            translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l o',
          })
        : pino.destination({ dest: 2, sync: true });
  const tee = {
    write(line: string) {
      dest.write(line);
      if (!sink || inSink) return;
      // A log event emitted while routing a log event would loop: drop the inner one.
      inSink = true;
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        const level = PINO_LEVELS[o.level as number] ?? 'info';
        const { msg, level: _l, time: _t, pid: _p, hostname: _h, ...fields } = o;
        sink(level, String(msg ?? ''), fields);
      } catch {
        // an unparsable line is still on the log destination; nothing to route
      } finally {
        inSink = false;
      }
    },
  };
  const logger = pino(
    { level: opts.level ?? 'info', base: { pid: process.pid }, formatters: { log: withErrorCode } },
    tee,
  );
  return {
    logger,
    setEventSink(s) {
      sink = s;
    },
  };
}
