import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { buildAgentConfig, quote, stateName } from '../../src/agent/config.ts';
import { parseArgs, settingsFromArgs } from '../../src/agent/options.ts';
import { keepaliveExpiryS, registerAgentPlugins } from '../../src/agent/plugins.ts';
import { partition, preflight, workerCount } from '../../src/agent/runner.ts';
import { parseConfigText } from '../../src/config/parser.ts';
import { Engine } from '../../src/engine/engine.ts';

const logger = pino({ level: 'silent' });

describe('the config sluice agent generates', () => {
  it('builds on the engine: tail per file, ping, drain log, forward with primary and standby servers', async () => {
    registerAgentPlugins();
    const s = settingsFromArgs(
      parseArgs([
        '--state-dir',
        '/tmp/st',
        '-P',
        'ping:h',
        '-d',
        'drain',
        '-f',
        'msg',
        '-k',
        '0',
        'app',
        '/var/log/a.log',
        'p1:1',
        'p2:2',
      ]),
    );
    const text = buildAgentConfig(s);
    const engine = await Engine.create(parseConfigText(text, { file: 'agent.conf' }), { logger });
    const types = engine.plugins.map((p) => `${p.kind}:${p.type}`).sort();
    assert.deepEqual(types, [
      'filter:agent_drain_log',
      'input:ping_message',
      'input:tail',
      'output:agent_forward',
    ]);
    assert.match(text, /message_key "msg"/);
    assert.match(text, /data "h \/var\/log\/a.log"/);
    assert.match(text, /agent_keepalive_time 0/);
    assert.match(text, /host "p2"\n {6}port 2\n {6}weight 60\n {6}standby true/);
    assert.match(text, /retry_exponential_backoff_base 1.5\n {6}retry_max_interval 3600/);
    assert.match(text, new RegExp(`pos_file "/tmp/st/pos/${stateName(s.logs[0]!)}.pos"`));
  });

  it('stdin (`-`) becomes a stdin source; --ack and --buffer memory are passed on', () => {
    const s = settingsFromArgs(
      parseArgs(['--ack', '--buffer', 'memory', '--state-dir', '/s', 't', '-', 'h']),
    );
    const text = buildAgentConfig(s);
    assert.match(text, /@type stdin/);
    assert.doesNotMatch(text, /@type tail/);
    assert.match(text, /require_ack_response true/);
    assert.match(text, /@type memory/);
  });

  it('values with quotes, #, backslashes and newlines survive the config syntax unchanged', () => {
    const nasty = 'a "b" #{ENV} \\n\nc\t$x';
    const root = parseConfigText(`<source>\n  tag ${quote(nasty)}\n</source>\n`, { file: 'q.conf' });
    assert.equal(root.elements[0]!.params[0]!.value, nasty);
  });

  it("keepalive expiry is fluent-agent-lite's: keepalive + int(60 * rand) - 30", () => {
    assert.equal(
      keepaliveExpiryS(1800, () => 0),
      1770,
    );
    assert.equal(
      keepaliveExpiryS(1800, () => 0.999),
      1829,
    );
    assert.equal(
      keepaliveExpiryS(120, () => 0.5),
      120,
    );
  });

  it('refuses -j (JSON transfer), a missing file without -F, and two stdin entries, saying why', () => {
    const base = (...a: string[]) => settingsFromArgs(parseArgs(['--state-dir', '/s', ...a]));
    assert.throws(() => preflight(base('-j', 't', '-', 'h')), /-j \(JSON transfer\) is not supported/);
    assert.throws(
      () => preflight(base('t', '/no/such/file.log', 'h')),
      /cannot find input file \/no\/such\/file.log/,
    );
    assert.doesNotThrow(() => preflight(base('-F', 't', '/no/such/file.log', 'h')));
    const two = base('t', '-', 'h');
    two.logs.push({ tag: 'u', path: '-' });
    assert.throws(() => preflight(two), /standard input \(-\) can be read by one entry only/);
  });

  it('spreads files over at most one worker per core and per file; stdin keeps one process', () => {
    const s = settingsFromArgs(parseArgs(['--state-dir', '/s', 't', '/f', 'h']));
    s.logs = Array.from({ length: 5 }, (_, i) => ({ tag: `t${i}`, path: `/f${i}` }));
    assert.equal(workerCount(s, 2), 2);
    assert.equal(workerCount(s, 8), 5);
    assert.equal(workerCount({ ...s, workers: 1 }, 8), 1);
    assert.equal(workerCount({ ...s, logs: [...s.logs, { tag: 'in', path: '-' }] }, 8), 1);
    const parts = [0, 1].map((id) => partition(s.logs, id, 2).map((l) => l.tag));
    assert.deepEqual(parts, [
      ['t0', 't2', 't4'],
      ['t1', 't3'],
    ]);
  });
});
