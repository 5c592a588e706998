// The producer side of the crash tests (buffer-crash, kafka2-crash): a forwarder that keeps
// a few acked messages in flight to a sluice, kills the sluice with SIGKILL at a random
// point, starts it again on the same config and goes on, `kills` times.
import { type SluiceProcess, spawnSluice } from '../helpers/sluice-process.ts';
import { AckingClient } from './forward-client.ts';

/**
 * Sends `{id, payload}` records tagged crash.test to the forward input on `port` across
 * `kills` SIGKILLs of the sluice running `conf`. Resolves with the ids the sluice acked and
 * the sluice of the last round, still running (the caller stops it once it has checked the
 * delivery); on an error that sluice is stopped here.
 */
export async function ackedAcrossKills(
  conf: string,
  port: number,
  kills: number,
): Promise<{ acked: Set<number>; last: SluiceProcess }> {
  const acked = new Set<number>();
  let nextId = 0;
  let proc: SluiceProcess | undefined;
  try {
    for (let round = 0; ; round++) {
      proc = spawnSluice(['-c', conf]);
      const client = new AckingClient(port);
      await client.connect(90_000);
      // Keep a few messages in flight, as a real forwarder does, until the kill.
      const target = acked.size + 20 + Math.floor(Math.random() * 100);
      const inflight = new Set<Promise<void>>();
      let dead = false;
      const killAt = new Promise<void>((resolve) => {
        const pump = () => {
          while (!dead && inflight.size < 4) {
            const ids = Array.from({ length: 10 }, () => nextId++);
            const p: Promise<void> = client
              .send(
                'crash.test',
                ids.map((id) => ({ id, payload: 'x'.repeat(64) })),
              )
              .then(
                () => {
                  for (const id of ids) acked.add(id);
                  inflight.delete(p);
                  if (acked.size >= target) resolve();
                  pump();
                },
                () => void inflight.delete(p),
              );
            inflight.add(p);
          }
        };
        pump();
      });
      await killAt;
      if (round === kills) {
        dead = true;
        return { acked, last: proc };
      }
      // land the kill at a random point of the next writes, not right on an ack
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 30)));
      dead = true;
      proc.proc.kill('SIGKILL');
      await proc.exited;
      client.close();
      await Promise.allSettled([...inflight]);
    }
  } catch (e) {
    await proc?.stop(10_000);
    throw e;
  }
}
