import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ERRORS_DOC, renderErrorsDoc } from '../../../../scripts/gen-error-docs.ts';
import { ERROR_CODES, errorCodeOf, whatToDo } from '../../src/core/error-codes.ts';
import {
  BufferOverflowError,
  ConfigError,
  ConfigErrors,
  isBufferOverflow,
  NotImplementedPluginError,
  SluiceError,
} from '../../src/core/errors.ts';
import { createLogger, withErrorCode } from '../../src/core/logger.ts';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const SRC = join(root, 'packages/sluice/src');
const CATALOGUE = join(SRC, 'core/error-codes.ts');
const FORWARD_ERRORS = join(root, 'packages/forward/src/errors.ts');

const CODE = '[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+';
/** A whole string literal that looks like a code, or a message that starts with one ("CODE: ..."). */
const LITERAL = new RegExp(`(['"\`])(${CODE}|INTERNAL)(?:\\1|: )`, 'g');

/**
 * Upper-case names in the sources that are not Sluice error codes: environment variables,
 * agent conf keys, constants of other systems' protocols and SDKs. A new such name goes here;
 * a new error code goes in core/error-codes.ts.
 */
const NOT_CODES: RegExp[] = [
  /^P2L_/, // postback environment variables (docs/postback.md)
  /^SLUICE_(?:AGENT_SETTINGS|WORKER_ID|RUNNING_FROM|STOP_TIMEOUT_MS|TEST_\w+)$/,
  /^TLS(?:v)?1_[0-3]$/,
  /^ERR_/, // Node's own error codes
  /^CONTAINER_PARTIAL_/, // concat's Docker partial-message keys
  /^(?:INVALID_TOPIC_EXCEPTION|TOPIC_AUTHORIZATION_FAILED|CLUSTER_AUTHORIZATION_FAILED|MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE|CONCURRENT_TRANSACTIONS|COORDINATOR_[A-Z_]+|NOT_COORDINATOR|[A-Z_]+_EXCEPTION)$/, // Kafka protocol errors
  /^(?:REDUCED_REDUNDANCY|STANDARD_IA|ONEZONE_IA|INTELLIGENT_TIERING|GLACIER\w*|DEEP_ARCHIVE|WHEN_REQUIRED|WHEN_SUPPORTED)$/, // S3 SDK values
  /^FLUENT_FOWARD_PORT$/, // an environment variable in a comment's example
  // fluent-agent (sluice agent) conf file keys
  /^(?:TAG_PREFIX|FIELD_NAME|PRIMARY_SERVERS?(?:_LIST)?|SECONDARY_SERVERS?(?:_LIST)?|READ_BUFFER_SIZE|PROCESS_NICE|TAIL_INTERVAL|TAIL_PATH|PING_TAG|PING_DATA|PING_INTERVAL|DRAIN_LOG_TAG|KEEPALIVE_TIME|RECONNECT_WAIT_MAX|RECONNECT_WAIT_INCR_RATE|LOG_PATH|LOG_VERBOSE|FORCE_START|PERL_PATH|STATE_DIR|REQUIRE_ACK)$/,
];

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* sources(p);
    else if (name.endsWith('.ts')) yield p;
  }
  // the launcher's own errors (bin/sluice.js) are in the catalogue too
  if (dir === SRC) yield join(SRC, '../bin/sluice.js');
}

/** code -> files of packages/sluice/src that use it, and the unknown code-like names. */
function scan(): { used: Map<string, Set<string>>; unknown: string[] } {
  const used = new Map<string, Set<string>>();
  const unknown: string[] = [];
  const use = (code: string, file: string) => {
    if (!used.has(code)) used.set(code, new Set());
    used.get(code)!.add(file);
  };
  for (const file of sources(SRC)) {
    if (file === CATALOGUE) continue;
    const rel = relative(SRC, file);
    for (const m of readFileSync(file, 'utf8').matchAll(LITERAL)) {
      const name = m[2]!;
      if (Object.hasOwn(ERROR_CODES, name)) use(name, rel);
      else if (!NOT_CODES.some((re) => re.test(name))) unknown.push(`${name} (${rel})`);
    }
  }
  // @sluice/forward's protocol codes reach users through in_forward's log lines.
  const union = readFileSync(FORWARD_ERRORS, 'utf8').match(/type ProtocolErrorCode =([^;]+);/)?.[1] ?? '';
  for (const m of union.matchAll(new RegExp(`'(${CODE}|[A-Z]+)'`, 'g'))) {
    const name = m[1]!;
    if (Object.hasOwn(ERROR_CODES, name)) use(name, '@sluice/forward');
    else unknown.push(`${name} (@sluice/forward ProtocolErrorCode)`);
  }
  return { used, unknown: [...new Set(unknown)].sort() };
}

test('every code the sources use is in the catalogue (core/error-codes.ts)', () => {
  const { unknown } = scan();
  assert.deepEqual(
    unknown,
    [],
    'add these to core/error-codes.ts with what they mean and what to do (or, if one is not an error code, to NOT_CODES here)',
  );
});

/**
 * Warn, error and fatal log calls whose fields are written out at the call (an object
 * literal, or a message alone) and name no code. Calls that pass fields through from a
 * variable (`warn: (msg, extra) => logger.warn(extra ?? {}, msg)`) are checked where their
 * fields are written.
 */
function logCallsWithoutCode(): string[] {
  const call = /\b(?:logger|log)\??\.(?:warn|error|fatal)\(/g;
  const out: string[] = [];
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(call)) {
      let i = m.index + m[0].length;
      for (let depth = 1; i < text.length && depth > 0; i++) {
        const c = text[i];
        if (c === '(' || c === '{' || c === '[') depth++;
        else if (c === ')' || c === '}' || c === ']') depth--;
      }
      const args = text.slice(m.index + m[0].length, i - 1).trim();
      if (!/^[{'"`]/.test(args) || /\bcode\b/.test(args)) continue;
      const line = text.slice(0, m.index).split('\n').length;
      out.push(`${relative(SRC, file)}:${line}`);
    }
  }
  return out;
}

test('every warn/error log line names its code', () => {
  assert.deepEqual(
    logCallsWithoutCode(),
    [],
    'add { code } from core/error-codes.ts to these log calls (docs/errors.md lists them)',
  );
});

test('every catalogue entry is still used somewhere in the sources', () => {
  const { used } = scan();
  const stale = Object.keys(ERROR_CODES).filter((c) => !used.has(c));
  assert.deepEqual(
    stale,
    [],
    'remove these entries from core/error-codes.ts (no source raises or logs them)',
  );
});

test('every catalogue entry says where it comes from, what it means and what to do', () => {
  for (const [code, info] of Object.entries(ERROR_CODES)) {
    assert.match(code, new RegExp(`^(?:${CODE}|HANDSHAKE|INTERNAL)$`), code);
    for (const field of ['where', 'means', 'todo'] as const)
      assert.ok(info[field].trim().length > 0, `${code} has no '${field}'`);
  }
});

test('docs/errors.md has one row per catalogue code and nothing else (npm run docs:errors)', () => {
  const doc = readFileSync(ERRORS_DOC, 'utf8');
  const rows = [...doc.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]!);
  const codes = Object.keys(ERROR_CODES);
  assert.deepEqual(
    rows.filter((r) => !codes.includes(r)),
    [],
    'docs/errors.md names codes the catalogue no longer has',
  );
  assert.deepEqual(
    codes.filter((c) => !rows.includes(c)),
    [],
    'codes without a row in docs/errors.md',
  );
  assert.equal(doc, renderErrorsDoc(), 'docs/errors.md is out of date: run npm run docs:errors');
});

test('the docs index (README.md) and ARCHITECTURE.md link docs/errors.md', () => {
  for (const f of ['README.md', 'docs/ARCHITECTURE.md'])
    assert.match(readFileSync(join(root, f), 'utf8'), /\]\((?:docs\/)?errors\.md\)/, f);
});

test('the error classes carry their codes and keep their instanceof behaviour', () => {
  const at = { file: 'f.conf', line: 3, column: 5 };
  const c = new ConfigError('bad', at);
  assert.ok(c instanceof ConfigError && c instanceof SluiceError && c instanceof Error);
  assert.equal(c.code, 'SLUICE_CONFIG');
  assert.equal(c.message, 'f.conf:3:5: bad');
  const n = new NotImplementedPluginError('output', 'nope', at);
  assert.ok(n instanceof ConfigError);
  assert.equal(n.code, 'PLUGIN_NOT_BUILT');
  const all = new ConfigErrors([new ConfigError('b', { ...at, line: 9 }), c]);
  assert.ok(all instanceof ConfigError);
  assert.equal(all.code, 'SLUICE_CONFIG');
  assert.equal(all.message, 'f.conf:3:5: bad\nf.conf:9:5: b');
  const o = new BufferOverflowError('full');
  assert.ok(o instanceof SluiceError);
  assert.equal(o.code, 'SLUICE_BUFFER_OVERFLOW');
  assert.ok(isBufferOverflow(o));
  // an overflow that crossed a worker boundary is a plain object with the code
  assert.ok(isBufferOverflow({ code: 'SLUICE_BUFFER_OVERFLOW', message: 'full' }));
  assert.ok(!isBufferOverflow(new SluiceError('EMIT_FAILED', 'x')));
});

test("a code at the head of a message is the error's code; a command prints what to do", () => {
  const c = new ConfigError('ES_BAD_HOSTS: hosts names no server', { file: 'f', line: 1, column: 1 });
  assert.equal(c.code, 'ES_BAD_HOSTS');
  assert.equal(new ConfigError('NOT_A_CODE: x').code, 'SLUICE_CONFIG');
  assert.equal(errorCodeOf(new Error('S3_UPLOAD_FAILED: PutObject failed')), 'S3_UPLOAD_FAILED');
  assert.equal(errorCodeOf(Object.assign(new Error('x'), { code: 'ENOENT' })), undefined);
  assert.equal(errorCodeOf(undefined), undefined);
  assert.equal(
    whatToDo(new SluiceError('CLI_NO_CONFIG', 'no config file')),
    `CLI_NO_CONFIG: ${ERROR_CODES.CLI_NO_CONFIG.todo} (docs/errors.md)`,
  );
  assert.equal(whatToDo(new Error('plain')), undefined);
});

test('a log line about a coded error carries its code', () => {
  assert.deepEqual(withErrorCode({ err: new SluiceError('BUFFER_LOST', 'x') }), {
    code: 'BUFFER_LOST',
    err: new SluiceError('BUFFER_LOST', 'x'),
  });
  assert.equal(withErrorCode({ err: 'S3_UPLOAD_FAILED: timeout' }).code, 'S3_UPLOAD_FAILED');
  assert.equal(withErrorCode({ error: new Error('KAFKA_FORMAT_ERROR: bad') }).code, 'KAFKA_FORMAT_ERROR');
  // an explicit code wins; an error without a catalogue code adds none
  assert.equal(
    withErrorCode({ code: 'EMIT_FAILED', err: new SluiceError('BUFFER_LOST', 'x') }).code,
    'EMIT_FAILED',
  );
  assert.equal(withErrorCode({ err: new Error('plain') }).code, undefined);

  // Sluice's own logger: the line as written (the event sink sees each line as it is written)
  const log = createLogger({ file: join(mkdtempSync(join(tmpdir(), 'sluice-log-')), 'log') });
  const lines: [string, Record<string, unknown>][] = [];
  log.setEventSink((_level, message, fields) => lines.push([message, fields]));
  log.logger.error({ err: new ConfigError('bad', undefined, 'CONFIG_VALUE') }, 'failed');
  assert.equal(lines.length, 1);
  assert.equal(lines[0]![0], 'failed');
  assert.equal(lines[0]![1].code, 'CONFIG_VALUE');
});
