import { hostname } from 'node:os';

/**
 * post2log's metadata fields. In post2log a Fluentd sidecar derived them from the log
 * file name `<POD_NAME>_<pid>.txt` and the node's HOSTNAME; Sluice computes them in the
 * process that receives the postback.
 */
export interface PostbackIdentity {
  nodeName: string;
  workerPodHash: string;
  workerProcId: string;
}

/**
 * The pod-specific part of a pod name. post2log's regex `post2log-(.+?)_` took everything after
 * the `post2log-` release prefix (`post2log-7bcd9d6cdf-7jmsd` -> `7bcd9d6cdf-7jmsd`); for other
 * names, a Deployment pod's `<replicaset hash>-<5 chars>` suffix, a StatefulSet pod's ordinal,
 * else the whole name.
 */
export function podHash(podName: string): string {
  const p = /^post2log-(.+)$/.exec(podName);
  if (p) return p[1]!;
  const d = /-([0-9a-z]{5,10}-[0-9a-z]{5})$/.exec(podName);
  if (d) return d[1]!;
  const s = /-(\d+)$/.exec(podName);
  if (s) return s[1]!;
  return podName;
}

export function postbackIdentity(env: NodeJS.ProcessEnv = process.env, pid = process.pid): PostbackIdentity {
  const host = hostname();
  return {
    nodeName: env.NODE_NAME || host,
    workerPodHash: podHash(env.POD_NAME || env.HOSTNAME || host),
    workerProcId: String(pid),
  };
}

/** `YYYY-MM-DDTHH:MM:SSZ` in UTC, second precision, as post2log's strftime('%Y-%m-%dT%H:%M:%SZ'). */
export function gmtSeconds(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}
