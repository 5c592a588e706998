import { MemoryStore } from '../../buffer/memory-store.ts';
import type { ChunkStore } from '../../buffer/store.ts';
import type { PluginDescriptor } from '../../core/plugin.ts';

/** `<buffer> @type memory`: chunks live in the process; lost on a crash (not on a clean stop). */
const descriptor: PluginDescriptor<ChunkStore> = {
  kind: 'buffer',
  type: 'memory',
  description: 'Keeps chunks in memory. Fast; chunks not yet written are lost if the process crashes.',
  schema: { params: {} },
  create: () => new MemoryStore(),
};
export default descriptor;
