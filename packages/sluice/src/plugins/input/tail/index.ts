import type { InputPlugin, PluginDescriptor } from '../../../core/plugin.ts';
import { buildParsing } from '../../../shared/lines/parsing.ts';
import { tailOptions, tailSchema } from './config.ts';
import { Tailer } from './tailer.ts';

/**
 * Fluentd's in_tail. Lifecycle only; the work is in this folder and src/shared/lines/: config (parameters),
 * paths (globs, strftime), position-file (Fluentd's pos file), tail-file (reading and
 * line splitting), target (read -> emit -> commit per file), tailer (discovery,
 * rotation, watches), parsing/line-encoder/multiline (lines to entries).
 */
const tail: PluginDescriptor<InputPlugin, typeof tailSchema> = {
  kind: 'input',
  type: 'tail',
  description: 'Reads lines appended to files (like tail -F), with positions, rotation and backpressure.',
  schema: tailSchema,
  create(config, ctx) {
    const opts = tailOptions(config);
    if (!config.params.pos_file)
      // As Fluentd: without a pos file, a restart reads each file again from its end (or
      // its head), so lines written while Sluice was down are lost or read twice.
      ctx.logger.warn(
        { code: 'TAIL_NO_POS_FILE' },
        "'pos_file PATH' parameter is not set to a 'tail' source: it is highly recommended, to resume tailing where it stopped after a restart",
      );
    const parsing = buildParsing(opts, ctx);
    const tailer = new Tailer(
      opts,
      parsing,
      (batch) => ctx.emit(batch),
      ctx.logger,
      (tag) => ctx.caughtUp?.(tag),
    );
    return {
      start: () => tailer.start(),
      stop: () => tailer.stop(),
    };
  },
};

export default tail;
