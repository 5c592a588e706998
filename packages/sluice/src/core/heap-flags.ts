import { setFlagsFromString } from 'node:v8';

// V8 grows the young generation (new space) of a busy process up to 16 MiB per semi-space.
// Sluice's events live for microseconds to a few milliseconds, but the Buffers of socket
// reads and frames are memory outside the heap that a scavenge frees only when it runs:
// with a large young generation scavenges are rare, that memory piles up until V8's
// external-memory limit forces full collections (26 major GCs in 3 M forwarded events),
// and the peak RSS carries it. A young generation that stays at its initial size scavenges
// often and cheaply instead (1 major GC; CPU per event and peak RSS in bench/RESULTS.md,
// issue 26). Either way a user's own choice of young-generation size wins.

/** Whether the node flags (command line or NODE_OPTIONS) choose a young-generation size. */
export function youngGenerationChosen(execArgv: string[], nodeOptions = ''): boolean {
  return [...execArgv, ...nodeOptions.split(/\s+/)].some((a) =>
    /^--(max|min)-semi-space-size\b|^--semi-space-growth-factor\b/.test(a),
  );
}

/** Keeps this process's young generation at its initial size (a flag V8 reads when it would grow it). */
export function keepYoungGenerationSmall(): void {
  if (!youngGenerationChosen(process.execArgv, process.env.NODE_OPTIONS))
    setFlagsFromString('--semi-space-growth-factor=1');
}

/** The node flags of a `<system> workers` worker: the supervisor's, plus 1 MiB semi-spaces unless chosen. */
export function workerExecArgv(execArgv: string[], nodeOptions = ''): string[] {
  return youngGenerationChosen(execArgv, nodeOptions) ? execArgv : [...execArgv, '--max-semi-space-size=1'];
}
