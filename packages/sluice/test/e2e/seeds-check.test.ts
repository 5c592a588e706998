import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SLUICE_BIN } from '../helpers/sluice-process.ts';

// The Fluentd configs from the users' own setups (shared/seeds 000, 001, 003), as fixtures.
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/seeds/${name}`, import.meta.url));

function check(name: string) {
  return spawnSync(process.execPath, [SLUICE_BIN, 'check', '-c', fixture(name)], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}

test('seed 000 (v0.12 `type forward` / `type tail` + `format none` -> `type file`) passes sluice check', () => {
  const r = check('000-fluent.conf');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\(@type forward\)/);
  assert.match(r.stdout, /\(@type tail\)/);
  assert.match(r.stdout, /match {2}app\.\*\* -> .*\(@type file\)/);
});

test('seed 001 default P2L_FLUENTD_OUTCONF (<match post2log> @type stdout) passes sluice check', () => {
  const r = check('001-outconf-default.conf');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /match {2}post2log -> .*\(@type stdout\)/);
});

test('seed 001 Kafka outconf (kafka_buffered) passes sluice check with a warning for flusth_interval', () => {
  const r = check('001-outconf-kafka.conf');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /match {2}post2log -> .*\(@type kafka_buffered\)/);
  assert.match(
    r.stderr,
    /001-outconf-kafka\.conf:8:5: unknown parameter 'flusth_interval' in <buffer>.*did you mean 'flush_interval'/,
  );
});

test('seed 003 (forward in, out_http with ${tag[1]} and a file buffer, retry_forever) passes sluice check', () => {
  const r = check('003-http-bus.conf');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\(@type forward\)/);
  assert.match(r.stdout, /match {2}api\.\* -> .*\(@type http\)/);
});
