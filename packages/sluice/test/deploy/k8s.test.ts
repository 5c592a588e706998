// examples/k8s: every kustomization renders (kustomize 5.5, offline, as `kubectl apply -k` would), every
// object validates against the Kubernetes 1.27 OpenAPI schema (kubernetes-models), and the
// objects agree with each other and with the Sluice configs they carry: probes, mounts,
// ConfigMap keys, Service selectors and ports, config ports and writable paths, image name.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DaemonSet, Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import { ConfigMap, Namespace, Service, ServiceAccount } from 'kubernetes-models/v1';
import { buildConfig, readSettings } from '../../src/cli/postback-config.ts';
import {
  configFacts,
  expectedImage,
  isUnder,
  type K8sObject,
  parseSluiceConfig,
  readRepo,
} from './helpers.ts';
import { KUSTOMIZATIONS, rendering } from './sluice-configs.ts';

const MODELS: Record<string, new (o: any) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'apps/v1/DaemonSet': DaemonSet,
  'networking.k8s.io/v1/Ingress': Ingress,
};
const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);
/** post2log's variables that reach the container (the others are kustomize fields). */
const P2L_RUNTIME = [
  'P2L_PORT',
  'P2L_ENDPOINT',
  'P2L_LOG_QUERYPARAM',
  'P2L_WORKERS',
  'P2L_ROTBYTES',
  'P2L_ROTBACKUPS',
  'P2L_UVICORN_LOGLEVEL',
  'P2L_FLUENTD_OUTCONF',
  'P2L_LOGDIR',
  'P2L_BUFFERDIR',
];

const isSluice = (image: string) => image === expectedImage() || image.startsWith('sluice:');
const configMaps = (objs: K8sObject[]) =>
  new Map(objs.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o]));

function checkWorkload(w: K8sObject, objs: K8sObject[]): void {
  const where = `${w.kind}/${w.metadata.name}`;
  const spec = w.spec;
  const podLabels = spec.template.metadata.labels as Record<string, string>;
  for (const [k, v] of Object.entries(spec.selector.matchLabels as Record<string, string>)) {
    assert.equal(podLabels[k], v, `${where}: selector ${k}=${v} does not match the pod template's labels`);
  }
  const pod = spec.template.spec;
  const volumes = new Set<string>([
    ...(pod.volumes ?? []).map((v: any) => v.name),
    ...(spec.volumeClaimTemplates ?? []).map((v: any) => v.metadata.name),
  ]);
  const cms = configMaps(objs);
  for (const v of pod.volumes ?? []) {
    if (!v.configMap) continue;
    const cm = cms.get(v.configMap.name);
    assert.ok(
      cm,
      `${where}: volume ${v.name} refers to ConfigMap ${v.configMap.name}, which is not in the kustomization`,
    );
    for (const item of v.configMap.items ?? [])
      assert.ok(item.key in cm.data, `${where}: ConfigMap ${cm.metadata.name} has no key ${item.key}`);
  }
  assert.ok(pod.containers.length > 0, `${where}: no containers`);
  for (const c of pod.containers) {
    const cw = `${where} container ${c.name}`;
    assert.ok(c.image, `${cw}: no image`);
    assert.ok(c.resources?.limits?.memory, `${cw}: no memory limit`);
    assert.equal(
      c.securityContext?.allowPrivilegeEscalation,
      false,
      `${cw}: allowPrivilegeEscalation must be false`,
    );
    assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL'], `${cw}: capabilities must drop ALL`);
    const portNames = new Set((c.ports ?? []).map((p: any) => p.name));
    const portNumbers = new Set((c.ports ?? []).map((p: any) => p.containerPort));
    for (const probeName of ['livenessProbe', 'readinessProbe']) {
      const probe = c[probeName]?.httpGet;
      if (!probe) continue;
      const ok = typeof probe.port === 'string' ? portNames.has(probe.port) : portNumbers.has(probe.port);
      assert.ok(ok, `${cw}: ${probeName} port ${probe.port} is not a declared container port`);
    }
    const mounts: { name: string; mountPath: string; readOnly?: boolean }[] = c.volumeMounts ?? [];
    for (const m of mounts) assert.ok(volumes.has(m.name), `${cw}: volumeMount ${m.name} has no volume`);
    for (const ref of c.envFrom ?? []) {
      if (ref.configMapRef)
        assert.ok(
          cms.has(ref.configMapRef.name),
          `${cw}: envFrom ConfigMap ${ref.configMapRef.name} missing`,
        );
    }
    if (!isSluice(c.image)) continue;

    assert.equal(
      c.image,
      expectedImage(),
      `${cw}: image must be ${expectedImage()} (same as compose and package.json)`,
    );
    assert.equal(c.securityContext?.readOnlyRootFilesystem, true, `${cw}: read-only root filesystem`);
    // tsx keeps its compile cache in /tmp.
    assert.ok(
      mounts.some((m) => m.mountPath === '/tmp' && !m.readOnly),
      `${cw}: /tmp must be a writable volume`,
    );
    const probe = c.livenessProbe?.httpGet;
    assert.equal(probe?.path, '/healthz', `${cw}: liveness probe on /healthz`);
    assert.ok(c.readinessProbe?.httpGet, `${cw}: readiness probe`);

    const writable = (p: string) => mounts.some((m) => !m.readOnly && isUnder(p, m.mountPath));
    const readable = (p: string) => mounts.some((m) => isUnder(p, m.mountPath));
    const tcpPorts = (c.ports ?? [])
      .filter((p: any) => (p.protocol ?? 'TCP') === 'TCP')
      .map((p: any) => p.containerPort);

    let confText: string | undefined;
    const args: string[] = c.args ?? [];
    if (args.includes('postback')) {
      const env = envOf(c, cms);
      for (const k of P2L_RUNTIME) assert.ok(k in env, `${cw}: ${k} is not set`);
      assert.ok(
        tcpPorts.includes(Number(env.P2L_PORT)),
        `${cw}: P2L_PORT ${env.P2L_PORT} is not a container port`,
      );
      // the config `sluice postback` generates from these variables, checked like the others
      confText = buildConfig(readSettings({ ...env, POD_NAME: `${w.metadata.name}-0` }));
    } else {
      const confMount = mounts.find((m) => m.mountPath === '/fluentd/etc');
      assert.ok(confMount, `${cw}: the config must be mounted at /fluentd/etc`);
      const vol = pod.volumes.find((v: any) => v.name === confMount.name);
      confText = cms.get(vol.configMap.name)?.data['fluent.conf'];
      assert.ok(confText, `${cw}: the mounted ConfigMap has no fluent.conf`);
    }
    const facts = configFacts(parseSluiceConfig(confText!, cw, { NODE_NAME: 'node-1' }));
    for (const port of facts.ports)
      assert.ok(tcpPorts.includes(port), `${cw}: the config listens on ${port}, not a container port`);
    for (const p of facts.writes)
      assert.ok(writable(p), `${cw}: the config writes ${p}, which is not on a writable volume`);
    for (const p of facts.reads) assert.ok(readable(p), `${cw}: the config tails ${p}, which is not mounted`);
  }
}

function envOf(c: any, cms: Map<string, K8sObject>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const ref of c.envFrom ?? [])
    if (ref.configMapRef) Object.assign(env, cms.get(ref.configMapRef.name)?.data ?? {});
  for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  return env;
}

function checkServices(objs: K8sObject[]): void {
  const pods = objs.filter((o) => WORKLOADS.has(o.kind)).map((w) => w.spec.template);
  for (const s of objs.filter((o) => o.kind === 'Service')) {
    const where = `Service/${s.metadata.name}`;
    const selector = s.spec.selector as Record<string, string>;
    const backing = pods.filter((p) =>
      Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v),
    );
    assert.ok(backing.length > 0, `${where}: its selector matches no pod template`);
    for (const port of s.spec.ports) {
      if (typeof port.targetPort !== 'string') continue;
      const found = backing.some((p) =>
        p.spec.containers.some((c: any) => (c.ports ?? []).some((cp: any) => cp.name === port.targetPort)),
      );
      assert.ok(found, `${where}: targetPort ${port.targetPort} is no container's port name`);
      if (port.nodePort !== undefined) {
        assert.equal(s.spec.type, 'NodePort', `${where}: nodePort needs type NodePort`);
        assert.ok(
          port.nodePort >= 30000 && port.nodePort <= 32767,
          `${where}: nodePort ${port.nodePort} outside 30000-32767`,
        );
      }
    }
  }
  for (const ing of objs.filter((o) => o.kind === 'Ingress')) {
    for (const rule of ing.spec.rules) {
      for (const path of rule.http.paths) {
        const svc = objs.find((o) => o.kind === 'Service' && o.metadata.name === path.backend.service.name);
        assert.ok(svc, `Ingress/${ing.metadata.name}: backend service ${path.backend.service.name} missing`);
        const portName = path.backend.service.port.name;
        if (portName)
          assert.ok(
            svc.spec.ports.some((p: any) => p.name === portName),
            `Ingress/${ing.metadata.name}: service has no port ${portName}`,
          );
      }
    }
  }
}

describe('Kubernetes examples (examples/k8s)', () => {
  for (const dir of KUSTOMIZATIONS) {
    describe(dir, () => {
      it('renders, and every object validates against the Kubernetes schema', () => {
        const objs = rendering(dir);
        assert.ok(objs.length > 0);
        for (const o of objs) {
          assert.ok(
            o.apiVersion && o.kind && o.metadata?.name,
            `object without apiVersion/kind/metadata.name: ${JSON.stringify(o).slice(0, 120)}`,
          );
          const Model = MODELS[`${o.apiVersion}/${o.kind}`];
          assert.ok(Model, `${o.apiVersion} ${o.kind} has no schema here: add it to MODELS`);
          new Model(o).validate();
        }
        const names = objs.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
        assert.equal(new Set(names).size, names.length, 'duplicate objects');
      });

      it('workloads, their mounts, probes, ports and Sluice configs agree', () => {
        const objs = rendering(dir);
        const workloads = objs.filter((o) => WORKLOADS.has(o.kind));
        assert.ok(workloads.length > 0, 'no workload');
        for (const w of workloads) checkWorkload(w, objs);
        checkServices(objs);
      });
    });
  }

  it('node-logs: a DaemonSet on every node, positions and buffer on the node', () => {
    const objs = rendering('examples/k8s/node-logs');
    const ds = objs.find((o) => o.kind === 'DaemonSet')!;
    const pod = ds.spec.template.spec;
    assert.ok(
      pod.tolerations.some((t: any) => t.operator === 'Exists'),
      'tolerates every taint',
    );
    const state = pod.volumes.find((v: any) => v.hostPath?.path === '/var/lib/sluice');
    assert.equal(state?.hostPath.type, 'DirectoryOrCreate');
    const varlog = pod.containers[0].volumeMounts.find((m: any) => m.mountPath === '/var/log');
    assert.equal(varlog.readOnly, true);
    const forwardTo = objs.find((o) => o.kind === 'Service' && o.metadata.name === 'sluice-aggregator')!;
    const conf = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('sluice-node'))!.data[
      'fluent.conf'
    ] as string;
    assert.match(
      conf,
      new RegExp(`host ${forwardTo.metadata.name}\\.${forwardTo.metadata.namespace}\\.svc`),
      'forwards to the aggregator Service',
    );
  });

  it('sidecar: the app and Sluice share the log volume, and the app is the compose example', () => {
    const dep = rendering('examples/k8s/sidecar').find((o) => o.kind === 'Deployment')!;
    const [api, sluice] = dep.spec.template.spec.containers;
    const apiLog = api.volumeMounts.find((m: any) => m.mountPath === '/api/log');
    const shared = sluice.volumeMounts.find((m: any) => m.name === apiLog.name);
    assert.equal(
      shared.mountPath,
      '/var/log',
      'the app log folder appears as /var/log in the Sluice container',
    );
    assert.equal(
      readRepo('examples/k8s/sidecar/app.mjs'),
      readRepo('examples/compose/tail-to-files/api/app.mjs'),
    );
  });

  it("postback: post2log's knobs land where documented", () => {
    const base = rendering('examples/k8s/postback/base');
    const sts = base.find((o) => o.kind === 'StatefulSet')!;
    assert.equal(sts.spec.replicas, 1, 'P2L_REPLICAS default 1');
    const sizes = sts.spec.volumeClaimTemplates.map((t: any) => [
      t.metadata.name,
      t.spec.resources.requests.storage,
    ]);
    assert.deepEqual(
      sizes,
      [
        ['logs', '4Gi'],
        ['buffer', '4Gi'],
      ],
      'P2L_STORAGE and P2L_FLUENTD_STORAGE default 4Gi',
    );
    assert.equal(base.find((o) => o.kind === 'Service')!.spec.type, 'ClusterIP');
    const np = rendering('examples/k8s/postback/overlays/nodeport').find((o) => o.kind === 'Service')!;
    assert.equal(np.spec.type, 'NodePort');
    assert.equal(np.spec.ports[0].nodePort, 30080, 'P2L_NODEPORT example');
    const ing = rendering('examples/k8s/postback/overlays/ingress').find((o) => o.kind === 'Ingress')!;
    assert.equal(
      ing.metadata.annotations?.['kubernetes.io/ingress.class'],
      'traefik',
      'P2L_INGRESS_ANNOT example',
    );
    const env = configMaps(base).values().next().value!.data as Record<string, string>;
    assert.equal(env.P2L_ENDPOINT, '/postback');
    assert.equal(
      ing.spec.rules[0].http.paths[0].path,
      env.P2L_ENDPOINT,
      'the Ingress routes the postback endpoint',
    );
  });

  it('a broken manifest is caught (the checks are not vacuous)', () => {
    const dep = structuredClone(rendering('examples/k8s/sidecar').find((o) => o.kind === 'Deployment')!);
    dep.spec.template.spec.containers[1].livenessProbe.httpGet.port = 'nope';
    assert.throws(() => checkWorkload(dep, rendering('examples/k8s/sidecar')), /livenessProbe port nope/);
    dep.spec.template.spec.containers[1].ports[0].containerPort = 'x';
    assert.throws(() => new Deployment(dep).validate(), /containerPort/);
  });
});
