import type { ConfigElement } from '../config/ast.ts';
import { defineParams, type ParamsOf, resolve, type Schema } from '../config/schema.ts';
import { ConfigError } from '../core/errors.ts';
import { LOG_LEVELS } from '../core/logger.ts';

const UNUSED = 'Accepted for Fluentd compatibility; Sluice does not act on it.';

const params = defineParams({
  workers: {
    type: 'integer',
    default: 1,
    description: 'Number of worker processes; each runs the whole pipeline (inputs with ports share them).',
  },
  root_dir: {
    type: 'string',
    default: null,
    description:
      'Directory for state (file buffers, positions) of plugins that configure no path of their own.',
  },
  log_level: {
    type: 'enum',
    values: LOG_LEVELS,
    default: null,
    description: "Level of Sluice's own log; the command line overrides it.",
  },
  suppress_repeated_stacktrace: { type: 'bool', default: true, description: UNUSED },
  emit_error_log_interval: { type: 'time', default: null, description: UNUSED },
  suppress_config_dump: {
    type: 'bool',
    default: false,
    description: 'Do not log the configuration at startup.',
  },
  log_event_verbose: { type: 'bool', default: false, description: UNUSED },
  ignore_repeated_log_interval: { type: 'time', default: null, description: UNUSED },
  ignore_same_log_interval: { type: 'time', default: null, description: UNUSED },
  without_source: {
    type: 'bool',
    default: false,
    description: 'Start no <source>: only flush what buffers hold.',
  },
  rpc_endpoint: { type: 'string', default: null, description: UNUSED },
  enable_get_dump: { type: 'bool', default: false, description: UNUSED },
  process_name: { type: 'string', default: null, description: 'Process title shown by ps.' },
  enable_msgpack_time_support: { type: 'bool', default: false, description: UNUSED },
  file_permission: {
    type: 'string',
    default: null,
    description: 'Octal permission of files Sluice creates (e.g. 0644).',
  },
  dir_permission: {
    type: 'string',
    default: null,
    description: 'Octal permission of directories Sluice creates (e.g. 0755).',
  },
  strict_config_value: { type: 'bool', default: false, description: UNUSED },
  disable_shared_socket: { type: 'bool', default: false, description: UNUSED },
  enable_input_metrics: {
    type: 'bool',
    default: true,
    description: 'Count records per input (always on in Sluice).',
  },
  enable_size_metrics: { type: 'bool', default: false, description: UNUSED },
  enable_jit: { type: 'bool', default: false, description: UNUSED },
});

export const systemSchema: Schema = {
  params,
  sections: {
    log: {
      description: "Format of Sluice's own log.",
      params: {
        format: {
          type: 'enum',
          values: ['text', 'json'],
          default: 'json',
          description: 'json lines (default when not a TTY) or text.',
        },
        time_format: { type: 'string', default: null, description: UNUSED },
        rotate_age: { type: 'string', default: null, description: UNUSED },
        rotate_size: { type: 'size', default: null, description: UNUSED },
      },
    },
    counter_server: { description: UNUSED, open: true },
    counter_client: { description: UNUSED, open: true },
    metrics: { description: UNUSED, open: true },
  },
};

export type SystemConfig = ParamsOf<typeof params>;

/** Reads the <system> directive(s); several are merged, later keys win, as Fluentd does. */
export function readSystem(root: ConfigElement): SystemConfig {
  const systems = root.elements.filter((e) => e.name === 'system');
  const merged: ConfigElement = {
    name: 'system',
    arg: '',
    params: systems.flatMap((s) => s.params),
    elements: systems.flatMap((s) => s.elements),
    location: systems[0]?.location ?? root.location,
  };
  const r = resolve(systemSchema, merged, '<system>');
  const sys = r.params as SystemConfig;
  if (sys.workers < 1) throw new ConfigError('<system> workers must be at least 1', merged.location);
  return sys;
}
