import { internalError } from '../../core/errors.ts';
import type { PluginDescriptor } from '../../core/plugin.ts';

// Built by the engine (core/outputs.ts), which owns the labels; the descriptor is for docs.
const descriptor: PluginDescriptor = {
  kind: 'output',
  type: 'relabel',
  description: 'Sends events to the <label> named by its @label parameter.',
  schema: { params: {} },
  buffered: 'never',
  create() {
    throw internalError('relabel is built by the engine (core/outputs.ts)');
  },
};
export default descriptor;
