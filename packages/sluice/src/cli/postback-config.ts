import { hostname } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { closest } from '../config/schema.ts';
import { SluiceError } from '../core/errors.ts';

/** post2log's settings, read from its P2L_* variables (defaults as in post2log's README). */
export interface PostbackSettings {
  /** the address to listen on (P2L_BIND; post2log: all interfaces) */
  bind: string;
  port: number;
  endpoint: string;
  logQueryParam: boolean;
  workers: number;
  rotBytes: number;
  rotBackups: number;
  logLevel: string;
  outConf: string;
  logDir: string;
  /** where the file buffer of the rotated-log output lives (P2L_BUFFERDIR) */
  bufferDir: string;
  podName: string;
}

export const DEFAULT_OUTCONF = '<match post2log>\n  @type stdout\n</match>';

/** uvicorn's level names -> Sluice's. */
const LEVELS: Record<string, string> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warning: 'warn',
  warn: 'warn',
  error: 'error',
  critical: 'fatal',
};

function int(env: NodeJS.ProcessEnv, name: string, def: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return def;
  const n = Number(raw.trim());
  if (!Number.isInteger(n) || n < min)
    throw new SluiceError(
      'POSTBACK_ENV',
      `${name} must be an integer >= ${min} (got ${JSON.stringify(raw)})`,
    );
  return n;
}

export function readSettings(env: NodeJS.ProcessEnv = process.env): PostbackSettings {
  const q = (env.P2L_LOG_QUERYPARAM ?? 'true').trim().toLowerCase();
  if (q !== 'true' && q !== 'false')
    throw new SluiceError(
      'POSTBACK_ENV',
      `P2L_LOG_QUERYPARAM must be true or false (got ${JSON.stringify(env.P2L_LOG_QUERYPARAM)})`,
    );
  const lvl = (env.P2L_UVICORN_LOGLEVEL ?? 'debug').trim().toLowerCase();
  const logLevel = LEVELS[lvl];
  if (!logLevel)
    throw new SluiceError(
      'POSTBACK_ENV',
      `P2L_UVICORN_LOGLEVEL must be one of ${Object.keys(LEVELS).join(', ')} (got ${JSON.stringify(env.P2L_UVICORN_LOGLEVEL)})`,
    );
  const endpoint = (env.P2L_ENDPOINT ?? '/postback').trim() || '/postback';
  if (!endpoint.startsWith('/') || /[\s"]/.test(endpoint))
    throw new SluiceError(
      'POSTBACK_ENV',
      `P2L_ENDPOINT must be a path starting with / (got ${JSON.stringify(env.P2L_ENDPOINT)})`,
    );
  const outConf = env.P2L_FLUENTD_OUTCONF?.trim() ? env.P2L_FLUENTD_OUTCONF : DEFAULT_OUTCONF;
  if (!/<match\s+post2log\s*>/.test(outConf)) {
    throw new SluiceError(
      'POSTBACK_ENV',
      'P2L_FLUENTD_OUTCONF must contain a <match post2log> block (where the postback events go)',
    );
  }
  const logDir = resolvePath(env.P2L_LOGDIR?.trim() || '/data');
  const bind = env.P2L_BIND?.trim() || '0.0.0.0';
  if (/[\s"'<>#]/.test(bind))
    throw new SluiceError(
      'POSTBACK_ENV',
      `P2L_BIND must be a host name or an IP address (got ${JSON.stringify(env.P2L_BIND)})`,
    );
  return {
    bind,
    port: int(env, 'P2L_PORT', 80, 0),
    endpoint,
    logQueryParam: q === 'true',
    workers: int(env, 'P2L_WORKERS', 1, 1),
    rotBytes: int(env, 'P2L_ROTBYTES', 10 * 1024 * 1024, 1),
    rotBackups: int(env, 'P2L_ROTBACKUPS', 5, 0),
    logLevel,
    outConf,
    logDir,
    bufferDir: resolvePath(env.P2L_BUFFERDIR?.trim() || `${logDir}/.sluice-buffer`),
    podName: env.POD_NAME || env.HOSTNAME || hostname(),
  };
}

/** Every P2L_* variable Sluice reads (`readSettings`), or that the deployment files read. */
export const KNOWN_VARIABLES = [
  'P2L_BIND',
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
  // deployment settings (docs/deployment.md), read by the Kubernetes manifests, not here
  'P2L_NODEPORT',
  'P2L_INGRESS_ANNOT',
  'P2L_REPLICAS',
  'P2L_STORAGE',
  'P2L_FLUENTD_STORAGE',
];

/** The warning code of a P2L_* variable Sluice does not know (docs/postback.md). */
export const UNKNOWN_VARIABLE = 'P2L_UNKNOWN_VARIABLE';

/**
 * One message per P2L_* variable of env that Sluice does not know, with the closest known
 * name: a misspelt variable is otherwise ignored without a word and its default used.
 */
export function unknownVariables(env: NodeJS.ProcessEnv = process.env): string[] {
  const known = new Set(KNOWN_VARIABLES);
  const out: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('P2L_') || known.has(name)) continue;
    const hint = closest(name, KNOWN_VARIABLES);
    out.push(
      `${name} is not a variable Sluice knows and is ignored${hint ? ` (did you mean ${hint}?)` : ''}`,
    );
  }
  return out;
}

const quote = (s: string) => JSON.stringify(s);

/**
 * The pipeline post2log ran as uvicorn + RotatingFileHandler + a Fluentd sidecar, as one
 * Sluice config: the postback input, a copy to size-rotated files (one per worker, as
 * post2log's `<pod>_<worker>.txt`) and to the user's `<match post2log>` (kept verbatim in
 * a label, so any Fluentd output block works unchanged). With `outConfFile`, the label
 * includes that file instead of the text, so errors in it are reported as
 * `.../P2L_FLUENTD_OUTCONF:line:col`, against the variable the user wrote.
 */
export function buildConfig(s: PostbackSettings, opts: { outConfFile?: string } = {}): string {
  const perWorker = (i: number) => `  <source>
    @type postback
    bind ${quote(s.bind)}
    port ${s.port}
    endpoint ${quote(s.endpoint)}
    log_queryparam ${s.logQueryParam}
    tag post2log
  </source>
  <match post2log>
    @type copy
    <store>
      @type file
      path ${quote(`${s.logDir}/${s.podName}_${i}.txt`)}
      add_path_suffix false
      append true
      rotate_size ${s.rotBytes}
      rotate_backups ${s.rotBackups}
      <format>
        @type json
      </format>
      <buffer tag>
        @type file
        path ${quote(`${s.bufferDir}/post2log-files`)}
        flush_mode immediate
      </buffer>
    </store>
    <store>
      @type relabel
      @label @P2L_OUT
    </store>
  </match>`;
  const workers = Array.from(
    { length: s.workers },
    (_, i) => `<worker ${i}>\n${perWorker(i)}\n</worker>`,
  ).join('\n');
  return `# generated by \`sluice postback\` from P2L_* variables
<system>
  workers ${s.workers}
  log_level ${s.logLevel}
</system>
${workers}
<label @P2L_OUT>
${opts.outConfFile ? `  @include ${quote(opts.outConfFile)}` : s.outConf.trim()}
</label>
`;
}
