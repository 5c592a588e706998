/** Where a config value or directive came from. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

export function formatLocation(loc: SourceLocation | undefined): string {
  return loc ? `${loc.file}:${loc.line}:${loc.column}` : '<unknown>';
}

/** A configuration problem; the message always starts with file:line:column. */
export class ConfigError extends Error {
  readonly code = 'SLUICE_CONFIG';
  constructor(
    readonly reason: string,
    readonly location?: SourceLocation,
  ) {
    super(location ? `${formatLocation(location)}: ${reason}` : reason);
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
    super(sorted.map((e) => e.message).join('\n'));
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
    );
  }
}

/** Raised by a buffered output's emit when the buffer refuses (overflow_action throw_exception). */
export class BufferOverflowError extends Error {
  readonly code = 'SLUICE_BUFFER_OVERFLOW';
  constructor(message: string) {
    super(message);
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
