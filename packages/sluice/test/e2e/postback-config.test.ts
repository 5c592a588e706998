import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  buildConfig,
  DEFAULT_OUTCONF,
  readSettings,
  unknownVariables,
} from '../../src/cli/postback-config.ts';
import { parseConfigText } from '../../src/config/parser.ts';
import { freePort } from '../helpers/ports.ts';
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
    assert.equal(s.bind, '0.0.0.0');
  });

  it('P2L_BIND sets the address the postback input listens on', () => {
    const s = readSettings({ P2L_BIND: '127.0.0.1', POD_NAME: 'p' });
    assert.equal(s.bind, '127.0.0.1');
    const root = parseConfigText(buildConfig(s), { file: 'postback.conf' });
    const source = root.elements[1]!.elements.find((e) => e.name === 'source')!;
    assert.equal(source.params.find((p) => p.key === 'bind')!.value, '127.0.0.1');
    assert.equal(readSettings({ P2L_BIND: '::1' }).bind, '::1');
    assert.throws(() => readSettings({ P2L_BIND: '1.2.3.4 port' }), /P2L_BIND must be a host name/);
  });

  it('names every P2L_* variable it does not know, with the closest known name', () => {
    assert.deepEqual(
      unknownVariables({ P2L_PORT: '1', P2L_BIND: '::', P2L_NODEPORT: '3', PATH: '/bin' }),
      [],
    );
    assert.deepEqual(unknownVariables({ P2L_LOG_DIR: '/logs', P2L_WORKER: '2', P2L_ZZZZZZZZZZZZ: 'x' }), [
      'P2L_LOG_DIR is not a variable Sluice knows and is ignored (did you mean P2L_LOGDIR?)',
      'P2L_WORKER is not a variable Sluice knows and is ignored (did you mean P2L_WORKERS?)',
      'P2L_ZZZZZZZZZZZZ is not a variable Sluice knows and is ignored',
    ]);
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
    assert.match(p.stdout(), /@type postback\n\s+bind "0.0.0.0"\n\s+port 8080/);
    p = spawnSluice(['postback'], { env: { P2L_PORT: 'eighty' } });
    assert.equal(await p.exited, 1);
    assert.match(p.stderr(), /sluice postback: P2L_PORT must be an integer/);
  });

  it('a config error in P2L_FLUENTD_OUTCONF is reported at that variable, line and column', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-p2l-'));
    try {
      const p = spawnSluice(['postback'], {
        env: {
          P2L_PORT: String(await freePort()),
          P2L_BIND: '127.0.0.1',
          P2L_LOGDIR: dir,
          P2L_FLUENTD_OUTCONF:
            '<match post2log>\n  @type stdout\n  <buffer>\n    flush_interval soon\n  </buffer>\n</match>',
        },
      });
      assert.equal(await p.exited, 1);
      assert.match(p.stderr(), /\/P2L_FLUENTD_OUTCONF:4:5: parameter 'flush_interval': expected a duration/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('warns at start about a misspelt P2L_* variable, and listens on P2L_BIND', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-p2l-'));
    const port = await freePort();
    const p = spawnSluice(['postback'], {
      env: {
        P2L_PORT: String(port),
        P2L_BIND: '127.0.0.1',
        P2L_LOGDIR: dir,
        P2L_LOG_DIR: '/nowhere',
        P2L_UVICORN_LOGLEVEL: 'info',
        POD_NAME: 'p',
      },
    });
    try {
      await p.waitFor(
        'stderr',
        /P2L_UNKNOWN_VARIABLE: P2L_LOG_DIR is not a variable Sluice knows and is ignored \(did you mean P2L_LOGDIR\?\)/,
      );
      const [line] = await p.waitFor('stderr', /.*listening for postbacks.*/);
      assert.equal(JSON.parse(line).bind, '127.0.0.1');
    } finally {
      await p.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
