// The one wait-until of the tests: polls a condition on a short timer, bounded in time, and
// fails with what it was waiting for. Tests wait on a condition (a count reached, a file
// written), never on a fixed sleep. Waits on a process or a server that can exit first
// build on it (stores/process.ts, helpers/sluice-process.ts); e2e/compiled-build.test.ts
// waits on stream events instead.

/**
 * Resolves with the first value of `check` that is neither undefined nor false; rejects
 * with `timed out waiting for <what>` after `timeoutMs`.
 */
export async function waitUntil<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string | (() => string),
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
