import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SLUICE_BIN, spawnSluice } from '../helpers/sluice-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function sluiceSync(args: string[]) {
  return spawnSync(process.execPath, [SLUICE_BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
}

function conf(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const sampleConf = (tag: string) => `
<source>
  @type sample
  tag ${tag}
  rate 20
  sample {"message":"hi"}
</source>
<match **>
  @type stdout
</match>
`;

test('--version prints the package version', () => {
  const r = sluiceSync(['--version']);
  assert.equal(r.status, 0);
  assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+$/);
});

test('sluice --help shows how to run a config with -c', () => {
  const r = sluiceSync(['--help']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /sluice -c fluent\.conf /);
  assert.match(r.stdout, /--dry-run/);
});

test('check prints the pipeline and exits 0 on a valid config', () => {
  const p = conf(
    'ok.conf',
    `${sampleConf('demo')}\n<label @ERROR>\n  <match **>\n    @type null\n  </match>\n</label>\n`,
  );
  const r = sluiceSync(['check', '-c', p]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /sample\.\d+ \(@type sample\) -> \(root\)/);
  assert.match(r.stdout, /match {2}\*\* -> stdout\.\d+ \(@type stdout\)/);
  assert.match(r.stdout, /<label @ERROR>:/);
  assert.match(r.stdout, /configuration OK/);
  const dry = sluiceSync(['-c', p, '--dry-run']);
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, /configuration OK/);
});

test('check exits 1 with file:line:column on an invalid config', () => {
  const p = conf('bad.conf', '<source>\n  @type sample\n  rate many\n</source>\n');
  const r = sluiceSync(['check', '-c', p]);
  assert.equal(r.status, 1);
  assert.match(
    r.stderr,
    new RegExp(`${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:3: parameter 'rate': expected an integer`),
  );
  const missing = sluiceSync(['check', '-c', join(dir, 'nope.conf')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /nope\.conf/);
});

test('an unknown parameter is a warning with the closest name, as in Fluentd; --strict makes it an error', () => {
  // Seed 001's own typo: Fluentd warns about `flusth_interval` and runs.
  const p = conf(
    'typo.conf',
    '<system>\n  Log_Level info\n</system>\n<match **>\n  @type stdout\n  output_tpye json\n  <buffer>\n    flusth_interval 10s\n  </buffer>\n</match>\n',
  );
  const file = p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const r = sluiceSync(['check', '-c', p]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /configuration OK/);
  assert.match(
    r.stderr,
    new RegExp(`${file}:6:3: unknown parameter 'output_tpye'.*did you mean 'output_type'.*ignored`),
  );
  assert.match(
    r.stderr,
    new RegExp(`${file}:8:5: unknown parameter 'flusth_interval'.*did you mean 'flush_interval'`),
  );
  assert.match(r.stderr, new RegExp(`${file}:2:3: unknown parameter 'Log_Level'.*did you mean 'log_level'`));
  assert.match(r.stderr, /CONFIG_UNKNOWN/);
  const strict = sluiceSync(['check', '--strict', '-c', p]);
  assert.equal(strict.status, 1);
  assert.match(strict.stderr, new RegExp(`${file}:2:3: unknown parameter 'Log_Level'`));
});

test('run: events flow, SIGHUP with a broken config keeps the pipeline, a good one reloads, SIGTERM stops', async () => {
  const p = conf('run.conf', sampleConf('first.tag'));
  const logFile = join(dir, 'sluice.log');
  const s = spawnSluice(['-c', p, '-o', logFile]);
  try {
    await s.waitFor('stdout', /\+\d{4} first\.tag: \{"message":"hi"\}/);
    writeFileSync(p, '<match **>\n  @type stdout\n  output_type bogus_format\n</match>\n');
    s.proc.kill('SIGHUP');
    const seen = s.stdout().length;
    // The old pipeline keeps producing after the failed reload.
    await s.waitFor('stdout', new RegExp(`[\\s\\S]{${seen}}[\\s\\S]*first\\.tag`));
    writeFileSync(p, sampleConf('second.tag'));
    s.proc.kill('SIGHUP');
    await s.waitFor('stdout', /second\.tag: \{"message":"hi"\}/);
    assert.equal(await s.stop(), 0);
    const log = readFileSync(logFile, 'utf8');
    assert.match(log, /the new config is invalid; keeping the running pipeline/);
    assert.match(log, /bogus_format/);
    assert.match(log, /reloaded/);
  } finally {
    await s.stop();
  }
});

test('run keeps running with no input and across reloads until it is told to stop', async () => {
  // Nothing in this pipeline holds Node's event loop open: the daemon itself must.
  const p = conf('no-input.conf', '<match **>\n  @type stdout\n</match>\n');
  const s = spawnSluice(['-c', p]);
  try {
    await s.waitFor('stderr', /sluice started/);
    s.proc.kill('SIGHUP');
    await s.waitFor('stderr', /reloaded[\s\S]*$/);
    s.proc.kill('SIGHUP');
    await s.waitFor('stderr', /reloaded[\s\S]*reloaded/);
    assert.equal(await s.stop(), 0);
    assert.match(s.stderr(), /stopped/);
  } finally {
    await s.stop();
  }
});

test('run exits 1 with a clear message when the config is invalid', async () => {
  const p = conf('invalid-run.conf', '<source>\n  @type sample\n  rate many\n</source>\n');
  const s = spawnSluice(['-c', p]);
  assert.equal(await s.exited, 1);
  assert.match(s.stderr(), /invalid-run\.conf:3:3: parameter 'rate': expected an integer/);
});

test('-q and -v set the log level; --log-level overrides', async () => {
  const p = conf('levels.conf', sampleConf('lv'));
  const quiet = spawnSluice(['-c', p, '-q']);
  const verbose = spawnSluice(['-c', p, '--log-level', 'debug']);
  try {
    await quiet.waitFor('stdout', /lv: /);
    await verbose.waitFor('stdout', /lv: /);
    await verbose.waitFor('stderr', /sluice started/);
    assert.equal(await quiet.stop(), 0);
    assert.doesNotMatch(quiet.stderr(), /sluice started/, 'info is below -q (warn)');
  } finally {
    await quiet.stop();
    await verbose.stop();
  }
});
