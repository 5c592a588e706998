// How an input's stop() waits for its in-flight emits: their acks and answers go out when
// they finish soon, but an emit held by a blocked buffer must not hold shutdown (the client
// resends what was not acknowledged).

/** How long stop() lets in-flight emits finish before dropping connections. */
export const STOP_GRACE_MS = 5000;

/** Resolves when `idle` settles or `graceMs` has passed, whichever comes first. */
export async function idleOrGrace(idle: Promise<unknown>, graceMs = STOP_GRACE_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    idle,
    new Promise<void>((r) => {
      timer = setTimeout(r, graceMs);
    }),
  ]);
  clearTimeout(timer);
}
