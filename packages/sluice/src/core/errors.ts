import { codeInMessage, type ErrorCode } from './error-codes.ts';

export { codeInMessage, ERROR_CODES, type ErrorCode, errorCodeOf, isErrorCode } from './error-codes.ts';

/**
 * An error a user can meet: `code` is stable and has a row in docs/errors.md (core/error-codes.ts
 * is the catalogue) saying what it means and what to do. Logs carry the code too.
 */
export class SluiceError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    // name stays 'Error': String(e) reads as it did for the plain Errors this replaced.
    super(message, options);
  }
}

/** Gives an error from elsewhere (a library, a plain Error) a catalogue code; returns it. */
export function withCode<E extends Error>(err: E, code: ErrorCode): E & { code: ErrorCode } {
  return Object.assign(err, { code });
}

/** An internal invariant that did not hold: a bug, not something the user did. */
export function internalError(message: string): SluiceError {
  return new SluiceError('INTERNAL', message);
}

/** Where a config value or directive came from. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

export function formatLocation(loc: SourceLocation | undefined): string {
  return loc ? `${loc.file}:${loc.line}:${loc.column}` : '<unknown>';
}

/**
 * A configuration problem; the message always starts with file:line:column. Its code is the
 * one given, else the catalogue code the reason starts with (`ES_BAD_HOSTS: ...`), else
 * SLUICE_CONFIG.
 */
export class ConfigError extends SluiceError {
  constructor(
    readonly reason: string,
    readonly location?: SourceLocation,
    code?: ErrorCode,
  ) {
    super(
      code ?? codeInMessage(reason) ?? 'SLUICE_CONFIG',
      location ? `${formatLocation(location)}: ${reason}` : reason,
    );
    this.name = 'ConfigError';
  }
}

/**
 * Every error a config build found, in file order (by file, line and column), one per line,
 * so a user fixes them in one pass rather than one run per typo.
 */
export class ConfigErrors extends ConfigError {
  constructor(readonly errors: ConfigError[]) {
    const sorted = [...errors].sort(byLocation);
    // Each message carries its own file:line:column; the whole has no single location.
    const codes = new Set(errors.map((e) => e.code));
    super(
      sorted.map((e) => e.message).join('\n'),
      undefined,
      codes.size === 1 ? [...codes][0] : 'SLUICE_CONFIG',
    );
    this.name = 'ConfigErrors';
  }
}

function byLocation(a: ConfigError, b: ConfigError): number {
  const x = a.location;
  const y = b.location;
  if (!x || !y) return x ? -1 : y ? 1 : 0;
  return x.file.localeCompare(y.file) || x.line - y.line || x.column - y.column;
}

/** A plugin type that exists in Fluentd but is not built in Sluice (yet). */
export class NotImplementedPluginError extends ConfigError {
  constructor(kind: string, type: string, location?: SourceLocation, detail = '') {
    super(
      `${kind} plugin '${type}' is not built in Sluice${detail}; docs/migrating-from-fluentd.md lists Fluentd's plugins and what to use instead`,
      location,
      'PLUGIN_NOT_BUILT',
    );
  }
}

/** Raised by a buffered output's emit when the buffer refuses (overflow_action throw_exception). */
export class BufferOverflowError extends SluiceError {
  constructor(message: string) {
    super('SLUICE_BUFFER_OVERFLOW', message);
    this.name = 'BufferOverflowError';
  }
}

/**
 * A buffer refused the batch for lack of space (by class, or by code when the error
 * crossed a worker boundary): inputs answer "try again later" (HTTP 503, no forward ack).
 */
export function isBufferOverflow(e: unknown): boolean {
  return (
    e instanceof BufferOverflowError || (e as { code?: unknown } | null)?.code === 'SLUICE_BUFFER_OVERFLOW'
  );
}
