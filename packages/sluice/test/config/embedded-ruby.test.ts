// The embedded Ruby of real Fluentd configs (the lines below are from the official
// fluent/fluentd-kubernetes-daemonset configs: fluent.conf, kubernetes.conf), read without
// Ruby as Fluentd reads it, with the variables unset and set; and use_default / use_nil
// resolved as Fluentd's section.rb does.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ConfigElement } from '../../src/config/ast.ts';
import { parseConfigText } from '../../src/config/parser.ts';
import { defineParams, resolve } from '../../src/config/schema.ts';
import { parseYamlConfig } from '../../src/config/yaml.ts';
import { throwsAt } from './helpers.ts';

function source(lines: string, env: Record<string, string | undefined> = {}): ConfigElement {
  const root = parseConfigText(`<source>\n${lines}\n</source>\n`, {
    file: 'k8s.conf',
    env,
    hostname: 'node-1',
  });
  return root.elements[0]!;
}

function v(line: string, env: Record<string, string | undefined> = {}): string {
  const p = source(`  k ${line}`, env).params[0]!;
  assert.equal(p.special, undefined, `${line} is plain text`);
  return p.value;
}

describe('embedded Ruby of real configs', () => {
  test("ENV['X'] || 'default': the default when unset, the variable when set (even empty)", () => {
    const line = `"#{ENV['FLUENT_ELASTICSEARCH_SCHEME'] || 'http'}"`;
    assert.equal(v(line), 'http');
    assert.equal(v(line, { FLUENT_ELASTICSEARCH_SCHEME: 'https' }), 'https');
    // Ruby's "" is truthy: an empty variable is kept, as Fluentd keeps it.
    assert.equal(v(line, { FLUENT_ELASTICSEARCH_SCHEME: '' }), '');
    assert.equal(
      v(`"#{ENV['FLUENT_CONTAINER_TAIL_PATH'] || '/var/log/containers/*.log'}"`),
      '/var/log/containers/*.log',
    );
    assert.equal(v(`"#{ENV['FLUENT_ELASTICSEARCH_SSL_VERIFY'] || true}"`), 'true');
    assert.equal(v(`"#{ENV['FLUENT_ELASTICSEARCH_BUFFER_QUEUE_LIMIT_LENGTH'] || 32}"`), '32');
  });

  test('string + with ENV.fetch (kubernetes_url), short-circuited when the first variable is set', () => {
    const line = `"#{ENV['FLUENT_FILTER_KUBERNETES_URL'] || 'https://' + ENV.fetch('KUBERNETES_SERVICE_HOST') + ':' + ENV.fetch('KUBERNETES_SERVICE_PORT') + '/api'}"`;
    assert.equal(
      v(line, { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }),
      'https://10.0.0.1:443/api',
    );
    assert.equal(v(line, { FLUENT_FILTER_KUBERNETES_URL: 'https://k8s/api' }), 'https://k8s/api');
    // Unset everywhere: Fluentd fails with a KeyError, Sluice names the variable.
    throwsAt(() => source(`  k ${line}`), 'k8s.conf', 2, 6, /'KUBERNETES_SERVICE_HOST' is not set/);
  });

  test('@include of a computed file name (kubernetes.conf includes systemd.conf)', () => {
    assert.equal(v(`"#{ENV['FLUENTD_SYSTEMD_CONF'] || 'systemd'}.conf"`), 'systemd.conf');
    assert.equal(
      v(`"#{ENV['FLUENTD_SYSTEMD_CONF'] || 'systemd'}.conf"`, { FLUENTD_SYSTEMD_CONF: 'disable' }),
      'disable.conf',
    );
  });

  test('literals, conversions, comparison and the host name', () => {
    assert.equal(v(`"#{1 + 1}"`), '2');
    assert.equal(v(`"#{ENV['N'].to_i + 1}"`, { N: '41' }), '42');
    assert.equal(v(`"#{ENV.fetch('N', '7').to_i}"`), '7');
    assert.equal(v(`"#{nil}"`), '');
    assert.equal(v(`"#{ENV['MODE'] == 'json' ? 'json' : 'cri'}"`, { MODE: 'json' }), 'json');
    assert.equal(v(`"#{ENV['MODE'] == 'json' ? 'json' : 'cri'}"`), 'cri');
    assert.equal(v(`"#{ENV['REGION'].to_s.upcase}"`, { REGION: 'eu' }), 'EU');
    assert.equal(v(`"#{Socket.gethostname}.#{ENV['DOMAIN'] || 'local'}"`), 'node-1.local');
  });

  test('code outside the understood forms is refused with what is understood', () => {
    throwsAt(
      () => source(`  k "#{File.read('/etc/passwd')}"`),
      'k8s.conf',
      2,
      6,
      /unsupported embedded Ruby code.*supported: ENV/,
    );
    throwsAt(() => source(`  k "#{system('id')}"`), 'k8s.conf', 2, 6, /'system' is not understood/);
    throwsAt(() => source(`  k "#{ENV['A'] + 'x'}"`), 'k8s.conf', 2, 6, /cannot add a String to nil/);
  });
});

describe('use_default and use_nil', () => {
  const schema = {
    params: defineParams({
      user: { type: 'string', description: 'user', default: 'elastic' },
      template_name: { type: 'string', description: 'template' },
      port: { type: 'integer', description: 'port', default: 9200 },
      host: { type: 'string', description: 'host', required: true },
    }),
  };
  const conf = (lines: string, env: Record<string, string | undefined> = {}) =>
    resolve(schema, source(`  host h\n${lines}`, env), '<source> @type test');

  test("use_default keeps the parameter's default; a set variable wins", () => {
    const line = `  user "#{ENV['FLUENT_ELASTICSEARCH_USER'] || use_default}"`;
    assert.equal(conf(line).params.user, 'elastic');
    assert.equal(conf(line, { FLUENT_ELASTICSEARCH_USER: 'bob' }).params.user, 'bob');
    assert.equal(conf(`  port "#{ENV['FLUENT_ELASTICSEARCH_PORT'] || use_default}"`).params.port, 9200);
  });

  test('use_nil leaves a parameter without default unset', () => {
    const line = `  template_name "#{ENV['FLUENT_ELASTICSEARCH_TEMPLATE_NAME'] || use_nil}"`;
    assert.equal(conf(line).params.template_name, undefined);
    assert.equal(conf(line, { FLUENT_ELASTICSEARCH_TEMPLATE_NAME: 't1' }).params.template_name, 't1');
  });

  test('the whole string is special, as in Fluentd (text around use_default is dropped)', () => {
    assert.equal(conf(`  user "x-#{use_default}-y"`).params.user, 'elastic');
  });

  test('errors as Fluentd: no default for use_default, nil for a parameter with a default', () => {
    throwsAt(
      () => resolve(schema, source(`  host "#{use_default}"`), 'c'),
      'k8s.conf',
      2,
      3,
      /'host' has no default value \(use_default\)/,
    );
    throwsAt(() => conf(`  port "#{use_nil}"`), 'k8s.conf', 3, 3, /'port' is required but nil is specified/);
  });

  test('not in a key or an @include path', () => {
    throwsAt(
      () => parseConfigText(`@include "#{use_nil}"\n`, { file: 'k8s.conf', env: {} }),
      'k8s.conf',
      1,
      10,
      /use_nil is allowed in a parameter value, not in an @include path/,
    );
  });

  test('in YAML, !fluent/s takes the same forms', () => {
    const root = parseYamlConfig(
      `config:\n  - source:\n      $type: sample\n      user: !fluent/s "#{ENV['U'] || use_default}"\n      host: !fluent/s "#{ENV['H'] || 'localhost'}"\n`,
      { file: 'k8s.yaml', env: {} },
    );
    const p = root.elements[0]!.params;
    assert.deepEqual(
      p.map((x) => [x.key, x.value, x.special]),
      [
        ['@type', 'sample', undefined],
        ['user', '', 'default'],
        ['host', 'localhost', undefined],
      ],
    );
  });
});
