import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildConfig, DEFAULT_OUTCONF, readSettings } from '../../src/cli/postback-config.ts';
import { parseConfigText } from '../../src/config/parser.ts';
import { spawnSluice } from '../helpers/sluice-process.ts';

describe('sluice postback: P2L_* variables', () => {
  it("defaults are post2log's", () => {
    const s = readSettings({ POD_NAME: 'post2log-0' });
    assert.equal(s.port, 80);
    assert.equal(s.endpoint, '/postback');
    assert.equal(s.logQueryParam, true);
    assert.equal(s.workers, 1);
    assert.equal(s.rotBytes, 10485760);
    assert.equal(s.rotBackups, 5);
    assert.equal(s.logLevel, 'debug');
    assert.equal(s.outConf, DEFAULT_OUTCONF);
    assert.equal(s.logDir, '/data');
    assert.equal(s.bufferDir, '/data/.sluice-buffer');
  });

  it('maps uvicorn levels and builds a config that parses, one <worker> per P2L_WORKERS', () => {
    const s = readSettings({
      P2L_WORKERS: '3',
      P2L_UVICORN_LOGLEVEL: 'warning',
      P2L_LOGDIR: '/var/p2l',
      P2L_BUFFERDIR: '/var/buf',
      POD_NAME: 'p',
    });
    assert.equal(s.logLevel, 'warn');
    const root = parseConfigText(buildConfig(s), { file: 'postback.conf' });
    const workers = root.elements.filter((e) => e.name === 'worker');
    assert.deepEqual(
      workers.map((w) => w.arg),
      ['0', '1', '2'],
    );
    const store = workers[2]!.elements
      .find((e) => e.name === 'match')!
      .elements.find((e) => e.name === 'store')!;
    assert.equal(store.params.find((p) => p.key === 'path')!.value, '/var/p2l/p_2.txt');
    assert.equal(
      store.elements.find((e) => e.name === 'buffer')!.params.find((p) => p.key === 'path')!.value,
      '/var/buf/post2log-files',
    );
    const label = root.elements.find((e) => e.name === 'label')!;
    assert.equal(label.arg, '@P2L_OUT');
    assert.equal(label.elements[0]!.name, 'match');
    assert.equal(label.elements[0]!.arg, 'post2log');
  });

  it('refuses bad values with a message naming the variable', () => {
    assert.throws(() => readSettings({ P2L_WORKERS: 'two' }), /P2L_WORKERS must be an integer >= 1/);
    assert.throws(() => readSettings({ P2L_WORKERS: '0' }), /P2L_WORKERS must be an integer >= 1/);
    assert.throws(
      () => readSettings({ P2L_LOG_QUERYPARAM: 'yes please' }),
      /P2L_LOG_QUERYPARAM must be true or false/,
    );
    assert.throws(
      () => readSettings({ P2L_UVICORN_LOGLEVEL: 'loud' }),
      /P2L_UVICORN_LOGLEVEL must be one of/,
    );
    assert.throws(() => readSettings({ P2L_ENDPOINT: 'postback' }), /P2L_ENDPOINT must be a path/);
    assert.throws(
      () => readSettings({ P2L_FLUENTD_OUTCONF: '<match other>\n@type stdout\n</match>' }),
      /must contain a <match post2log> block/,
    );
  });

  it('the CLI prints the config, and exits 1 with the message on a bad variable', async () => {
    let p = spawnSluice(['postback', '--print-config'], { env: { P2L_PORT: '8080', P2L_LOGDIR: '/tmp/x' } });
    assert.equal(await p.exited, 0);
    assert.match(p.stdout(), /@type postback\n\s+port 8080/);
    p = spawnSluice(['postback'], { env: { P2L_PORT: 'eighty' } });
    assert.equal(await p.exited, 1);
    assert.match(p.stderr(), /sluice postback: P2L_PORT must be an integer/);
  });
});
