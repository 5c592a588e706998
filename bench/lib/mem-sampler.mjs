// Loaded into the process under test with NODE_OPTIONS="--import <this file>" and
// SLUICE_MEM_SAMPLES=<file>: every 50 ms it reads process.memoryUsage() and the V8 heap
// spaces, and writes a line to the file each time the RSS reaches a new peak (plus one a
// second), so the bench can say where the peak went: V8's young generation (new space),
// the old generation, Buffers and other memory outside the heap (external, arrayBuffers),
// and what is neither (code, stacks, the allocator's free lists: rss minus the rest).
import { appendFileSync } from 'node:fs';
import v8 from 'node:v8';

const out = process.env.SLUICE_MEM_SAMPLES;
if (out) {
  let peak = 0;
  let last = 0;
  const sample = () => {
    const m = process.memoryUsage();
    const now = Date.now();
    if (m.rss <= peak && now - last < 1000) return;
    last = now;
    peak = Math.max(peak, m.rss);
    const spaces = {};
    for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name] = s.space_size;
    appendFileSync(
      out,
      `${JSON.stringify({
        t: now,
        rss: m.rss,
        heapTotal: m.heapTotal,
        heapUsed: m.heapUsed,
        external: m.external,
        arrayBuffers: m.arrayBuffers,
        newSpace: spaces.new_space ?? 0,
        oldSpace: spaces.old_space ?? 0,
        largeObjects: (spaces.large_object_space ?? 0) + (spaces.new_large_object_space ?? 0),
        code: (spaces.code_space ?? 0) + (spaces.code_large_object_space ?? 0),
      })}\n`,
    );
  };
  setInterval(sample, 50).unref();
}
