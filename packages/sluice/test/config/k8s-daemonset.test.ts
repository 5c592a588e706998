// Issue 20's acceptance test: the configs of the official fluent/fluentd-kubernetes-daemonset
// images (debian-forward and debian-elasticsearch7, Fluentd 1.14.6), with only the plugins
// Sluice does not build taken out (test/fixtures/k8s-daemonset/README.md says which and why),
// pass the engine build as `sluice check` does, lenient as Fluentd (strict: false), with
// their ENV variables unset and set; every warning they leave is listed here. The last
// tests run the debian-forward config with the sluice binary (absolute /var/log paths moved
// under a temporary directory in a copy): a container log line and the node's other logs
// arrive, parsed, at a forward server on 127.0.0.1; with the forward variables unset it
// runs, fails to connect and retries, as Fluentd does.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import type { ConfigElement } from '../../src/config/ast.ts';
import { parseConfigFile } from '../../src/config/parser.ts';
import { resolve } from '../../src/config/schema.ts';
import type { EventBatch } from '../../src/core/batch.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { Engine } from '../../src/engine/engine.ts';
import { loadPlugin } from '../../src/engine/registry.ts';
import { gates, registerTestPlugins, resetCapture } from '../helpers/capture.ts';
import { freePort } from '../helpers/ports.ts';
import { SLUICE_BIN, spawnSluice } from '../helpers/sluice-process.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/k8s-daemonset/', import.meta.url));
const HOST = 'node-1';

interface Built {
  error?: ConfigError;
  /** [code, message] of every warning the build logged */
  warnings: [string, string][];
  graph?: ReturnType<Engine['graph']>;
}

/** The engine build of `sluice check` (parse, Engine.create), warnings collected. */
async function build(file: string, env: Record<string, string | undefined>, strict = false): Promise<Built> {
  const warnings: [string, string][] = [];
  const logger = pino(
    { level: 'warn' },
    {
      write: (l: string) => {
        const o = JSON.parse(l) as { code?: string; msg: string };
        warnings.push([o.code ?? '', o.msg]);
      },
    },
  );
  try {
    const root = parseConfigFile(file, { env, hostname: HOST });
    const engine = await Engine.create(root, { logger, strict });
    const graph = engine.graph();
    await engine.stop();
    return { warnings, graph };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { error: e, warnings };
  }
}

const image = (name: string) => join(FIXTURES, name, 'fluent.conf');
const rel = (msg: string) => msg.split(FIXTURES).join('');

/** What every variant of both images builds: the tail sources and the prometheus inputs. */
const SOURCES = [
  'in_prometheus (@type prometheus)',
  'in_prometheus_output_monitor (@type prometheus_output_monitor)',
  'in_tail_cluster_autoscaler (@type tail)',
  'in_tail_container_logs (@type tail)',
  'in_tail_docker (@type tail)',
  'in_tail_etcd (@type tail)',
  'in_tail_glbc (@type tail)',
  'in_tail_kube_apiserver_audit (@type tail)',
  'in_tail_kube_apiserver (@type tail)',
  'in_tail_kube_controller_manager (@type tail)',
  'in_tail_kube_proxy (@type tail)',
  'in_tail_kube_scheduler (@type tail)',
  'in_tail_kubelet (@type tail)',
  'in_tail_rescheduler (@type tail)',
  'in_tail_minion (@type tail)',
  'in_tail_startupscript (@type tail)',
].sort();

function sources(b: Built): string[] {
  return (b.graph?.inputs ?? []).map((i) => `${i.id} (@type ${i.type})`).sort();
}

function rules(b: Built): string[] {
  return (b.graph?.labels ?? []).flatMap((l) =>
    l.rules.map((r) => `${l.name} ${r.pattern} ${r.id} ${r.type}`),
  );
}

function unknown(b: Built): string[] {
  return b.warnings.filter(([code]) => code === 'CONFIG_UNKNOWN').map(([, m]) => rel(m));
}

/** An element of the parsed config by @id (in included files too). */
function byId(root: ConfigElement, id: string): ConfigElement {
  const walk = (el: ConfigElement): ConfigElement | undefined =>
    el.params.some((p) => p.key === '@id' && p.value === id) ? el : el.elements.map(walk).find(Boolean);
  const found = walk(root);
  assert.ok(found, `@id ${id}`);
  return found;
}

const FORWARD_SET = {
  FLUENT_FOWARD_HOST: 'fluentd-aggregator.logging.svc',
  FLUENT_FOWARD_PORT: '24225',
  FLUENT_CONTAINER_TAIL_PATH: '/var/log/containers/app-*.log',
  FLUENT_CONTAINER_TAIL_TAG: 'k8s.*',
  FLUENT_CONTAINER_TAIL_EXCLUDE_PATH:
    '["/var/log/containers/fluentd-*.log", "/var/log/containers/kube-proxy-*.log"]',
  FLUENT_CONTAINER_TAIL_PARSER_TYPE: 'json',
  FLUENT_CONTAINER_TAIL_PARSER_TIME_FORMAT: '%Y-%m-%dT%H:%M:%S.%N%z',
  FLUENTD_PROMETHEUS_BIND: '127.0.0.1',
  FLUENTD_PROMETHEUS_PORT: '24232',
  FLUENTD_PROMETHEUS_PATH: '/prom',
  // Not read by these files: the kubernetes_metadata filter that read them is taken out.
  K8S_NODE_NAME: HOST,
  KUBERNETES_SERVICE_HOST: '10.96.0.1',
  KUBERNETES_SERVICE_PORT: '443',
};

describe('fluentd-kubernetes-daemonset debian-forward (v1.14)', () => {
  test('ENV unset: builds, lenient as Fluentd; the one warning is the empty forward port', async () => {
    const b = await build(image('debian-forward'), {});
    assert.equal(b.error, undefined, b.error?.message);
    assert.deepEqual(sources(b), SOURCES);
    assert.deepEqual(rules(b), [
      '(root) ** out_fwd forward',
      '@FLUENT_LOG fluent.** ignore_fluent_logs null',
    ]);
    assert.deepEqual(unknown(b), []);
    // port "#{ENV['FLUENT_FOWARD_PORT']}" is "": Fluentd reads 0 and starts (then cannot
    // connect); Sluice reads it the same and says so. host "" is a string, no warning.
    assert.deepEqual(
      b.warnings.map(([c, m]) => [c, rel(m)]),
      [
        [
          'CONFIG_EMPTY_NUMBER',
          "debian-forward/fluent.conf:16:5: parameter 'port' is empty (an unset variable?): read as 0, as Fluentd does (--strict makes it an error)",
        ],
      ],
    );
    // --strict (sluice check --strict) refuses the empty port, as Fluentd's strict mode.
    const strict = await build(image('debian-forward'), {}, true);
    assert.match(
      rel(strict.error?.message ?? ''),
      /^debian-forward\/fluent\.conf:16:5: parameter 'port' is empty/,
    );
  });

  test('`sluice check` itself: exit 0 with the variables unset, 1 with --strict (the empty port)', () => {
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (/^(FLUENT|K8S_|KUBERNETES_)/.test(k)) delete env[k];
    const check = (...extra: string[]) =>
      spawnSync(process.execPath, [SLUICE_BIN, 'check', ...extra, '-c', image('debian-forward')], {
        encoding: 'utf8',
        env,
        timeout: 60_000,
      });
    const ok = check();
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /in_tail_container_logs \(@type tail\) -> \(root\)/);
    assert.match(ok.stdout, /match {2}\*\* -> out_fwd \(@type forward\)/);
    assert.match(ok.stderr, /CONFIG_EMPTY_NUMBER/);
    const strict = check('--strict');
    assert.equal(strict.status, 1);
    assert.match(strict.stderr, /debian-forward\/fluent\.conf:16:5: parameter 'port' is empty/);
  });

  test('ENV set: builds with no warning, strict too; the values reach the plugins', async () => {
    const b = await build(image('debian-forward'), FORWARD_SET, true);
    assert.equal(b.error, undefined, b.error?.message);
    assert.deepEqual(b.warnings, []);
    assert.deepEqual(sources(b), SOURCES);
    const root = parseConfigFile(image('debian-forward'), { env: FORWARD_SET, hostname: HOST });
    const tail = await loadPlugin('input', 'tail');
    const containers = resolve(tail.schema, byId(root, 'in_tail_container_logs'), '<source>').params;
    assert.equal(containers.path, '/var/log/containers/app-*.log');
    assert.equal(containers.tag, 'k8s.*');
    assert.deepEqual(containers.exclude_path, [
      '/var/log/containers/fluentd-*.log',
      '/var/log/containers/kube-proxy-*.log',
    ]);
    assert.equal(containers.read_from_head, true);
    const parse = byId(root, 'in_tail_container_logs').elements.find((e) => e.name === 'parse')!;
    assert.deepEqual(
      parse.params.map((p) => [p.key, p.value]),
      [
        ['@type', 'json'],
        ['time_format', '%Y-%m-%dT%H:%M:%S.%N%z'],
      ],
    );
    const fwd = await loadPlugin('output', 'forward');
    const server = (
      resolve(fwd.schema, byId(root, 'out_fwd'), '<match>').sections.server as {
        params: Record<string, unknown>;
      }[]
    )[0]!;
    assert.equal(server.params.host, 'fluentd-aggregator.logging.svc');
    assert.equal(server.params.port, 24225);
    const prom = await loadPlugin('input', 'prometheus');
    const p = resolve(prom.schema, byId(root, 'in_prometheus'), '<source>').params;
    assert.deepEqual([p.bind, p.port, p.metrics_path], ['127.0.0.1', 24232, '/prom']);
  });

  test('FLUENTD_SYSTEMD_CONF=disable and FLUENTD_PROMETHEUS_CONF=disable include the empty disable.conf', async () => {
    const b = await build(image('debian-forward'), {
      ...FORWARD_SET,
      FLUENTD_SYSTEMD_CONF: 'disable',
      FLUENTD_PROMETHEUS_CONF: 'disable',
    });
    assert.equal(b.error, undefined, b.error?.message);
    assert.deepEqual(
      sources(b),
      SOURCES.filter((s) => !s.startsWith('in_prometheus')),
    );
  });

  test('FLUENT_CONTAINER_TAIL_PARSER_TYPE=cri (containerd, CRI-O): builds with the cri parser, no warning', async () => {
    const b = await build(image('debian-forward'), {
      ...FORWARD_SET,
      FLUENT_CONTAINER_TAIL_PARSER_TYPE: 'cri',
    });
    assert.equal(b.error, undefined, b.error?.message);
    assert.deepEqual(unknown(b), []);
  });
});

const ES_SET = {
  FLUENT_ELASTICSEARCH_HOST: 'elasticsearch-logging.logging.svc',
  FLUENT_ELASTICSEARCH_PORT: '9200',
  FLUENT_ELASTICSEARCH_PATH: '/es',
  FLUENT_ELASTICSEARCH_SCHEME: 'https',
  FLUENT_ELASTICSEARCH_SSL_VERIFY: 'false',
  FLUENT_ELASTICSEARCH_USER: 'elastic',
  FLUENT_ELASTICSEARCH_PASSWORD: 'changeme',
  FLUENT_ELASTICSEARCH_LOGSTASH_PREFIX: 'k8s',
  FLUENT_ELASTICSEARCH_LOGSTASH_FORMAT: 'true',
  FLUENT_ELASTICSEARCH_REQUEST_TIMEOUT: '10s',
  FLUENT_ELASTICSEARCH_BUFFER_FLUSH_THREAD_COUNT: '2',
  FLUENT_ELASTICSEARCH_BUFFER_FLUSH_INTERVAL: '1s',
  FLUENT_ELASTICSEARCH_BUFFER_CHUNK_LIMIT_SIZE: '4M',
  FLUENT_ELASTICSEARCH_BUFFER_QUEUE_LIMIT_LENGTH: '16',
  FLUENT_ELASTICSEARCH_BUFFER_RETRY_MAX_INTERVAL: '60',
  FLUENT_CONTAINER_TAIL_PARSER_TYPE: 'json',
  FLUENTD_PROMETHEUS_BIND: '127.0.0.1',
  K8S_NODE_NAME: HOST,
};

describe('fluentd-kubernetes-daemonset debian-elasticsearch7 (v1.14)', () => {
  for (const [variant, env] of [
    ['unset', {}],
    ['set', ES_SET],
  ] as const) {
    test(`ENV ${variant}: as published, builds with no unknown parameter`, async () => {
      const b = await build(image('debian-elasticsearch7'), env);
      assert.equal(b.error, undefined, b.error?.message);
      assert.deepEqual(unknown(b), []);
      assert.deepEqual(sources(b), SOURCES);
      assert.deepEqual(rules(b), [
        '(root) ** out_es elasticsearch',
        '@FLUENT_LOG fluent.** ignore_fluent_logs null',
      ]);
    });
  }
});

describe('debian-forward, run end to end by the sluice binary', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'sluice-k8s-run-'));
  after(() => {
    resetCapture();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('a container log line under the tailed path arrives at a forward server on 127.0.0.1', async () => {
    registerTestPlugins();
    // The receiver: a forward input on 127.0.0.1 feeding a capturing output.
    const fwdPort = await freePort();
    const receiver = await Engine.fromText(
      `<source>\n@type forward\nbind 127.0.0.1\nport ${fwdPort}\n</source>\n<match **>\n@type test_capture\nname k8s\n</match>\n`,
      { logger: pino({ level: 'silent' }) },
    );
    await receiver.start();
    const arrived = new Promise<EventBatch>((res) => gates.set('k8s', (b) => res(b)));

    const { conf, varlog, logFile } = nodeOnDisk(join(tmp, 'set'));

    const promPort = await freePort();
    const sluice = spawnSluice(['-c', join(conf, 'fluent.conf')], {
      env: {
        FLUENT_FOWARD_HOST: '127.0.0.1',
        FLUENT_FOWARD_PORT: String(fwdPort),
        FLUENTD_PROMETHEUS_BIND: '127.0.0.1',
        FLUENTD_PROMETHEUS_PORT: String(promPort),
      },
    });
    try {
      // out_forward's buffer flushes every 60 s by default (Fluentd's); once the tail has
      // read the line (its pos file says so), SIGUSR1 flushes it, as it does in Fluentd.
      await tailed(varlog, logFile);
      sluice.proc.kill('SIGUSR1');
      const batch = await arrived;
      const [entry] = batch.entries();
      assert.equal(batch.tag, `kubernetes${logFile.replaceAll('/', '.')}`);
      assert.deepEqual(entry!.record, { log: 'GET /healthz 200\n', stream: 'stdout' });
      assert.equal(entry!.time.sec, Date.UTC(2026, 11, 6, 20, 15, 30) / 1000);
      assert.equal(entry!.time.nsec, 123456789);
      // prometheus.conf's endpoint, with prometheus_output_monitor's metrics of out_fwd.
      // The write is counted when out_fwd's write settles, which may be just after the
      // receiver has the event: scrape again (each scrape waits on a response) until it is.
      const written = /^fluentd_output_status_write_count\{[^}]*plugin_id="out_fwd"[^}]*\} [1-9]/m;
      let metrics = '';
      for (let i = 0; i < 100 && !written.test(metrics); i++)
        metrics = await (await fetch(`http://127.0.0.1:${promPort}/metrics`)).text();
      assert.match(metrics, written);
      assert.match(metrics, /^fluentd_output_status_emit_records\{[^}]*plugin_id="out_fwd"[^}]*\} [1-9]/m);
    } finally {
      assert.equal(await sluice.stop(), 0, sluice.stderr().slice(-3000));
      await receiver.stop();
    }
  });

  test("the node's other logs, each through its source's own <parse>, arrive as Fluentd parses them", async () => {
    registerTestPlugins();
    const fwdPort = await freePort();
    const receiver = await Engine.fromText(
      `<source>\n@type forward\nbind 127.0.0.1\nport ${fwdPort}\n</source>\n<match **>\n@type test_capture\nname k8s-nodes\n</match>\n`,
      { logger: pino({ level: 'silent' }) },
    );
    await receiver.start();
    const byTag = new Map<string, EventBatch[]>();
    const waiting = new Map<string, () => void>();
    gates.set('k8s-nodes', (b) => {
      byTag.set(b.tag, [...(byTag.get(b.tag) ?? []), b]);
      waiting.get(b.tag)?.();
    });
    const arrival = (tag: string) =>
      new Promise<void>((res) => (byTag.has(tag) ? res() : waiting.set(tag, res)));
    const record = (tag: string) => byTag.get(tag)![0]!.entries()[0]!.record;

    const { conf, varlog } = nodeOnDisk(join(tmp, 'node-logs'));
    const sluice = spawnSluice(['-c', join(conf, 'fluent.conf')], {
      env: {
        FLUENT_FOWARD_HOST: '127.0.0.1',
        FLUENT_FOWARD_PORT: String(fwdPort),
        FLUENTD_PROMETHEUS_BIND: '127.0.0.1',
        FLUENTD_PROMETHEUS_PORT: String(await freePort()),
      },
    });
    try {
      // These sources have no read_from_head: files that appear once the tail runs are read
      // from their start (files already there would be read from their end, as in Fluentd).
      await sluice.waitFor('stderr', /"msg":"sluice started"/);
      const lines: [string, string, string][] = [
        // [file under /var/log, pos file, text], the lines from kubelet, kube-apiserver's
        // audit log (the two examples of kube-apiserver-audit.conf), docker, salt, the
        // startup script and etcd.
        [
          'kubelet.log',
          'fluentd-kubelet.log.pos',
          'I0204 06:55:31.872680       4 server.go:400] Started kubelet v1.5.2\n',
        ],
        [
          'kubernetes/kube-apiserver-audit.log',
          'kube-apiserver-audit.log.pos',
          '2017-02-09T00:15:57.992775796Z AUDIT: id="90c73c7c-97d6-4b65-9461-f94606ff825f" ip="104.132.1.72" method="GET" user="kubecfg" as="<self>" asgroups="<lookup>" namespace="default" uri="/api/v1/namespaces/default/pods"\n' +
            '2017-02-09T00:15:57.993528822Z AUDIT: id="90c73c7c-97d6-4b65-9461-f94606ff825f" response="200"\n',
        ],
        [
          'docker.log',
          'fluentd-docker.log.pos',
          'time="2016-02-04T06:51:03.053580605Z" level=info msg="GET /containers/json" err="none"\n',
        ],
        [
          'salt/minion',
          'fluentd-salt.pos',
          '2017-01-26 13:02:52,123 [salt.minion      ][INFO    ] Starting up the Salt Minion\n',
        ],
        [
          'startupscript.log',
          'fluentd-startupscript.log.pos',
          'Feb  4 06:51:03 node-1 startupscript: Finished running startup script\n',
        ],
        ['etcd.log', 'fluentd-etcd.log.pos', '2017-02-04 06:51:03.000000 I | etcdserver: published\n'],
      ];
      for (const [file, , text] of lines) {
        mkdirSync(join(varlog, file, '..'), { recursive: true });
        writeFileSync(join(varlog, file), text);
      }
      for (const [file, pos] of lines)
        await waitForFile(join(varlog, pos), (t) => t.includes(join(varlog, file)) && !/\t0{16}\t/.test(t));
      sluice.proc.kill('SIGUSR1');
      const tags = ['kubelet', 'kube-apiserver-audit', 'docker', 'salt', 'startupscript', 'etcd'];
      await Promise.all(tags.map(arrival));

      // kubelet.conf: the image's `kubernetes` parser (a regexp, written out in the fixture).
      assert.deepEqual(record('kubelet'), {
        severity: 'I',
        pid: '4',
        source: 'server.go:400',
        message: 'Started kubelet v1.5.2',
      });
      // kube-apiserver-audit.conf: multiline, every field of the repeated group; the first
      // event ends where the second line (a new first line) starts.
      assert.deepEqual(record('kube-apiserver-audit'), {
        id: '90c73c7c-97d6-4b65-9461-f94606ff825f',
        ip: '104.132.1.72',
        method: 'GET',
        user: 'kubecfg',
        as: '<self>',
        asgroups: '<lookup>',
        namespace: 'default',
        uri: '/api/v1/namespaces/default/pods',
      });
      assert.equal(
        byTag.get('kube-apiserver-audit')![0]!.entries()[0]!.time.sec,
        Date.UTC(2017, 1, 9, 0, 15, 57) / 1000,
      );
      // docker.conf: the ($<status_code>...) group is Ruby's `$` then `<`, never matched, in
      // Fluentd too; the optional err group is.
      assert.deepEqual(record('docker'), {
        severity: 'info',
        message: 'GET /containers/json',
        error: 'none',
      });
      assert.deepEqual(record('salt'), { severity: 'INFO', message: 'Starting up the Salt Minion' });
      assert.deepEqual(record('startupscript'), {
        host: 'node-1',
        ident: 'startupscript',
        message: 'Finished running startup script',
      });
      assert.deepEqual(record('etcd'), { message: '2017-02-04 06:51:03.000000 I | etcdserver: published' });
    } finally {
      assert.equal(await sluice.stop(), 0, sluice.stderr().slice(-3000));
      await receiver.stop();
    }
  });

  test('with FLUENT_FOWARD_HOST/PORT unset it runs as Fluentd does: tails, fails to connect, retries, stops cleanly', async () => {
    const { conf, varlog, logFile } = nodeOnDisk(join(tmp, 'unset'));
    // Only the prometheus port is set, so that the test does not take 24231 on 0.0.0.0.
    const sluice = spawnSluice(['-c', join(conf, 'fluent.conf')], {
      env: {
        FLUENT_FOWARD_HOST: undefined,
        FLUENT_FOWARD_PORT: undefined,
        FLUENTD_PROMETHEUS_BIND: '127.0.0.1',
        FLUENTD_PROMETHEUS_PORT: String(await freePort()),
      },
    });
    try {
      await sluice.waitFor('stderr', /CONFIG_EMPTY_NUMBER/);
      await tailed(varlog, logFile);
      sluice.proc.kill('SIGUSR1');
      // host "" and port 0: nothing listens there, as for Fluentd (0.0.0.0:0).
      await sluice.waitFor('stderr', /"code":"ECONNREFUSED"/);
      assert.equal(sluice.proc.exitCode, null, 'still running');
    } finally {
      assert.equal(await sluice.stop(), 0, sluice.stderr().slice(-3000));
    }
  });
});

/**
 * The image's files in a copy whose absolute /var/log/ paths (tail paths, pos files) are
 * moved under `root`; everything else is read from ENV as the image does (forward server,
 * prometheus bind and port). One container log line, as the kubelet links it for a
 * container using Docker's json-file driver, is waiting under the tailed path.
 */
function nodeOnDisk(root: string): { conf: string; varlog: string; logFile: string } {
  const conf = join(root, 'etc');
  cpSync(join(FIXTURES, 'debian-forward'), conf, { recursive: true });
  const varlog = join(root, 'var', 'log');
  const rewrite = (dir: string) => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) rewrite(p);
      else writeFileSync(p, readFileSync(p, 'utf8').replaceAll('/var/log/', `${varlog}/`));
    }
  };
  rewrite(conf);
  mkdirSync(join(varlog, 'containers'), { recursive: true });
  const logFile = join(varlog, 'containers', 'web-7d4b9c_default_nginx-0123abcd.log');
  writeFileSync(
    logFile,
    `${JSON.stringify({ log: 'GET /healthz 200\n', stream: 'stdout', time: '2026-12-06T20:15:30.123456789Z' })}\n`,
  );
  return { conf, varlog, logFile };
}

/** Resolves once the tail's pos file says it has read past the start of `logFile`. */
function tailed(varlog: string, logFile: string): Promise<void> {
  return waitForFile(
    join(varlog, 'fluentd-containers.log.pos'),
    (text) => text.includes(logFile) && !/\t0{16}\t/.test(text),
  );
}

/** Resolves once `file` exists and its text satisfies `ok`, woken by changes in its directory. */
async function waitForFile(file: string, ok: (text: string) => boolean, timeoutMs = 30_000): Promise<void> {
  const { watch } = await import('node:fs');
  const read = () => {
    try {
      return ok(readFileSync(file, 'utf8'));
    } catch {
      return false;
    }
  };
  if (read()) return;
  const dir = join(file, '..');
  await new Promise<void>((res, rej) => {
    const w = watch(dir, () => {
      if (!read()) return;
      clearTimeout(timer);
      w.close();
      res();
    });
    const timer = setTimeout(() => {
      w.close();
      rej(new Error(`timed out waiting for ${file}`));
    }, timeoutMs);
  });
}
