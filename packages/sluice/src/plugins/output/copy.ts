import { defineSchema } from '../../config/schema.ts';
import { internalError } from '../../core/errors.ts';
import type { PluginDescriptor } from '../../core/plugin.ts';

export const copySchema = defineSchema({
  params: {
    copy_mode: {
      type: 'enum',
      values: ['no_copy', 'shallow', 'deep', 'marshal'],
      default: 'no_copy',
      description:
        'How stores share events. Batches are immutable bytes in Sluice, so every mode is safe; shallow, deep and marshal give each store its own decoded records.',
    },
    deep_copy: { type: 'bool', default: false, description: 'Old spelling of `copy_mode deep`.' },
  },
  sections: {
    store: {
      multi: true,
      required: true,
      plugin: 'output',
      description:
        'An output that receives every event, in order. `<store ignore_error>` keeps a refusing store from failing the emit; `<store ignore_if_prev_success>` skips the store when the previous one accepted.',
    },
  },
});

// The engine builds copy itself (its stores are full outputs with their own buffers);
// this descriptor carries the schema for validation and the reference docs.
const descriptor: PluginDescriptor = {
  kind: 'output',
  type: 'copy',
  description: 'Sends every event to each <store> output.',
  schema: copySchema,
  buffered: 'never',
  create() {
    throw internalError('copy is built by the engine (core/outputs.ts)');
  },
};
export default descriptor;
