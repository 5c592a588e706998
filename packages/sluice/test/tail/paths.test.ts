import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/core/errors.ts';
import { checkTimezone, strftime } from '../../src/plugins/input/tail/paths.ts';

const where = { file: 't.conf', line: 3, column: 3 };

test('log path placeholders expand in path_timezone (offsets, UTC, IANA names)', () => {
  const at = new Date(Date.UTC(2026, 0, 31, 23, 30, 0));
  assert.equal(strftime('/var/log/app.%Y%m%d.log', at, 'UTC'), '/var/log/app.20260131.log');
  assert.equal(strftime('/var/log/app.%Y%m%d-%H.log', at, '+09:00'), '/var/log/app.20260201-08.log');
  assert.equal(strftime('/var/log/app.%Y-%m-%d.log', at, 'Asia/Tokyo'), '/var/log/app.2026-02-01.log');
  assert.equal(strftime('/var/log/plain.log', at, 'UTC'), '/var/log/plain.log');
});

test('an unknown path_timezone is a config error at its line', () => {
  assert.doesNotThrow(() => checkTimezone('Europe/Rome', where));
  assert.throws(
    () => checkTimezone('Mars/Olympus', where),
    (e: unknown) =>
      e instanceof ConfigError &&
      /^t\.conf:3:3: path_timezone: unknown timezone 'Mars\/Olympus'/.test(e.message),
  );
});
