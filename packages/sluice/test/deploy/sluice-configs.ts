// The Sluice configs shipped with the deployment files, gathered from where they live:
// plain files, compose mounts, and the ConfigMaps of the rendered kustomizations.
import { buildConfig, readSettings } from '../../src/cli/postback-config.ts';
import { type K8sObject, kustomize, readRepo } from './helpers.ts';

export interface ShippedConfig {
  name: string;
  text: string;
}

export const KUSTOMIZATIONS = [
  'examples/k8s/node-logs',
  'examples/k8s/sidecar',
  'examples/k8s/postback/base',
  'examples/k8s/postback/overlays/nodeport',
  'examples/k8s/postback/overlays/ingress',
  'examples/k8s/kafka-scale-out',
] as const;

const rendered = new Map<string, K8sObject[]>();
/** kustomize build, once per directory per test process. */
export function rendering(dir: string): K8sObject[] {
  let r = rendered.get(dir);
  if (!r) {
    r = kustomize(dir);
    rendered.set(dir, r);
  }
  return r;
}

/** seed 000's own fluent.conf, verbatim (v0.12 spellings): it must run with only the image changed. */
export const SEED_000_FLUENT_CONF = `# 標準入力 -> fluentd 集約ログファイル（デバッグ用）
<source>
type forward
port 24224
</source>

<match debug.**>
type file
path /fluentd/log/debug.*.log
</match>

# Web-API のログファイル -> fluentd 集約ログファイル
<source>
type tail
format none
path /var/log/app.log
tag app.log
</source>

<match app.**>
type file
path /fluentd/log/app.*.log
</match>
`;

export function shippedConfigs(): ShippedConfig[] {
  const out: ShippedConfig[] = [
    { name: 'deploy/docker/fluent.conf', text: readRepo('deploy/docker/fluent.conf') },
    {
      name: 'examples/compose/tail-to-files/fluentd/fluent.conf',
      text: readRepo('examples/compose/tail-to-files/fluentd/fluent.conf'),
    },
    {
      name: 'examples/compose/http-bus/fluentd/fluent.conf',
      text: readRepo('examples/compose/http-bus/fluentd/fluent.conf'),
    },
    {
      name: 'examples/compose/firehose/fluentd/fluent.conf',
      text: readRepo('examples/compose/firehose/fluentd/fluent.conf'),
    },
    { name: 'seed 000 fluent.conf', text: SEED_000_FLUENT_CONF },
  ];
  for (const dir of ['examples/k8s/node-logs', 'examples/k8s/sidecar', 'examples/k8s/postback/base']) {
    for (const o of rendering(dir)) {
      if (o.kind !== 'ConfigMap') continue;
      for (const [key, value] of Object.entries((o.data ?? {}) as Record<string, string>)) {
        if (key === 'P2L_PORT') {
          const env = { ...(o.data as Record<string, string>), POD_NAME: 'post2log-0' };
          out.push({
            name: `${dir} sluice postback config from ConfigMap ${o.metadata.name.replace(/-[a-z0-9]{10}$/, '')}`,
            text: buildConfig(readSettings(env)),
          });
        }
        if (key === 'fluent.conf' || key === 'P2L_FLUENTD_OUTCONF')
          out.push({
            name: `${dir} ConfigMap ${o.metadata.name.replace(/-[a-z0-9]{10}$/, '')} ${key}`,
            text: value,
          });
      }
    }
  }
  return out;
}
