// examples/compose: the files parse; services, images, builds, bind mounts, named volumes,
// ports and dependencies are consistent with each other, with the Dockerfile and with the
// Sluice config each one mounts. (`docker compose config` needs the compose plugin, which
// these machines do not have: the checks below are hand-written.)
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import {
  configFacts,
  expectedImage,
  isUnder,
  parseSluiceConfig,
  parseYamlDocs,
  ROOT,
  readRepo,
  repoPath,
} from './helpers.ts';

const EXAMPLES = [
  'examples/compose/tail-to-files',
  'examples/compose/http-bus',
  'examples/compose/kafka-scale-out',
  'examples/compose/firehose',
];
/** Folders the image creates for its user (Dockerfile: mkdir -p + chown). */
const IMAGE_WRITABLE = ['/fluentd/log', '/fluentd/buffer', '/fluentd/state', '/tmp'];

type Service = {
  image?: string;
  build?: { context: string };
  volumes?: string[];
  ports?: string[];
  depends_on?: string[];
  command?: string[] | string;
  entrypoint?: string[] | string;
  profiles?: string[];
};

function load(dir: string): { services: Record<string, Service>; volumes?: Record<string, unknown> } {
  const docs = parseYamlDocs(readRepo(dir, 'docker-compose.yml'), `${dir}/docker-compose.yml`);
  assert.equal(docs.length, 1);
  return docs[0] as { services: Record<string, Service>; volumes?: Record<string, unknown> };
}

function mounts(dir: string, svc: Service, named: Set<string>) {
  return (svc.volumes ?? []).map((v) => {
    const [source, target, mode] = v.split(':') as [string, string, string?];
    const bind = source.startsWith('.') || source.startsWith('/');
    if (!bind) assert.ok(named.has(source), `${dir}: named volume ${source} is not declared under volumes:`);
    return {
      source: bind ? resolve(repoPath(dir), source) : source,
      target: target.replace(/\/$/, ''),
      readOnly: mode === 'ro',
      bind,
    };
  });
}

describe('compose examples (examples/compose)', () => {
  for (const dir of EXAMPLES) {
    describe(dir, () => {
      const file = load(dir);
      const named = new Set(Object.keys(file.volumes ?? {}));
      const dockerfileExpose = ['24224/tcp', '24224/udp', '24220/tcp'];

      it('every service has an image; dependencies exist; bind-mounted sources exist', () => {
        for (const [name, svc] of Object.entries(file.services)) {
          assert.ok(svc.image, `${name}: no image`);
          for (const dep of svc.depends_on ?? [])
            assert.ok(dep in file.services, `${name}: depends_on ${dep}, no such service`);
          for (const m of mounts(dir, svc, named)) {
            if (m.bind)
              assert.ok(existsSync(m.source), `${name}: bind mount source ${m.source} does not exist`);
          }
        }
      });

      it('the Sluice service: same image as Kubernetes, built from this repository, config mounted at /fluentd/etc', () => {
        const sluice = Object.entries(file.services).filter(([, s]) => s.image?.startsWith('sluice:'));
        assert.ok(sluice.length >= 1);
        for (const [name, svc] of sluice) {
          assert.equal(svc.image, expectedImage(), `${name}: image`);
          if (svc.build) {
            const ctx = resolve(repoPath(dir), svc.build.context);
            assert.equal(ctx, ROOT, `${name}: build context is the repository root`);
            assert.ok(existsSync(join(ctx, 'Dockerfile')));
          }
        }
        const [name, collector] = sluice.find(([, s]) => s.profiles === undefined)!;
        const ms = mounts(dir, collector, named);
        const conf = ms.find((m) => m.target === '/fluentd/etc/fluent.conf');
        assert.ok(conf?.readOnly, `${name}: fluent.conf mounted read-only at /fluentd/etc/fluent.conf`);
        assert.ok(statSync(conf.source).isFile());

        const facts = configFacts(
          parseSluiceConfig(readRepo(conf.source.slice(ROOT.length + 1)), conf.source),
        );
        const published = (collector.ports ?? []).map((p) => {
          const [spec, proto = 'tcp'] = p.split('/') as [string, string?];
          return `${spec.split(':').pop()}/${proto}`;
        });
        for (const p of published)
          assert.ok(dockerfileExpose.includes(p), `${name}: publishes ${p}, not EXPOSEd by the Dockerfile`);
        for (const port of facts.ports)
          assert.ok(
            published.includes(`${port}/tcp`),
            `${name}: the config listens on ${port}, not published`,
          );
        const writable = (p: string) =>
          ms.some((m) => !m.readOnly && isUnder(p, m.target)) ||
          IMAGE_WRITABLE.some((d) => isUnder(p, d) && !ms.some((m) => m.readOnly && isUnder(p, m.target)));
        for (const p of facts.writes)
          assert.ok(writable(p), `${name}: the config writes ${p}, not a writable place`);
        for (const p of facts.reads)
          assert.ok(
            ms.some((m) => isUnder(p, m.target)),
            `${name}: the config tails ${p}, not mounted`,
          );
      });
    });
  }

  it('tail-to-files is seed 000 with only the collector image changed', () => {
    const { services } = load('examples/compose/tail-to-files');
    const c = services['fluentd-server']!;
    assert.deepEqual(c.volumes, [
      './fluentd/log:/fluentd/log',
      './api/log:/var/log/',
      './fluentd/fluent.conf:/fluentd/etc/fluent.conf:ro',
    ]);
    assert.deepEqual(c.ports, ['127.0.0.1:24224:24224', '127.0.0.1:24224:24224/udp']);
    assert.equal(c.command, undefined, 'the image starts sluice by itself, as fluent/fluentd starts fluentd');
    const api = services['fast-api-server']!;
    assert.deepEqual(api.volumes, ['./api:/api']);
    // the app writes /api/log/app.log, which the collector sees as /var/log/app.log
    assert.ok(existsSync(repoPath('examples/compose/tail-to-files/api', (api.command as string[])[1]!)));
  });

  it('http-bus: the out_http endpoint names the receiving service and its port', () => {
    const { services } = load('examples/compose/http-bus');
    const conf = readRepo('examples/compose/http-bus/fluentd/fluent.conf');
    const endpoint = /endpoint "http:\/\/([^:]+):(\d+)\/api\/\$\{tag\[1\]\}\/"/.exec(conf);
    assert.ok(endpoint, 'endpoint http://<service>:<port>/api/${tag[1]}/');
    const receiver = services[endpoint[1]!];
    assert.ok(receiver, `no service named ${endpoint[1]}`);
    assert.equal((receiver as { environment?: Record<string, string> }).environment?.PORT, endpoint[2]);
    assert.match(conf, /retry_forever true/);
    assert.match(conf, /@type file/);
    const sender = services.app!;
    assert.deepEqual(sender.profiles, ['send'], '`docker compose up -d` leaves the sender alone');
    assert.match(String(sender.command), /sluice cat -h fluentd -p 24224 api\.orders/);
    assert.ok(
      existsSync(join(dirname(repoPath('examples/compose/http-bus/docker-compose.yml')), 'http/server.mjs')),
    );
  });
});
