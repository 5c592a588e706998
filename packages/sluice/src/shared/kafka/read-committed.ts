// A consumer with isolation level read_committed must skip the records of aborted
// transactions. @platformatic/kafka 1.35 (and 2.12) keeps one aborted range per producer id
// per fetch, so when one fetch holds several aborted transactions of one producer (a
// transactional id keeps its producer id across restarts: kafka2's exactly_once after a
// few crashes, Kafka Streams, Connect), all but the last are delivered as if committed.
// This applies the protocol's rule (the Java client's) to every fetch answer before the
// client's stream reads it: walking the batches in offset order, a producer is inside an
// aborted transaction from the transaction's first offset to its abort marker, and its
// transactional batches in between are emptied. Emptied rather than removed, so the
// stream still moves its fetch position past them.
import { tracingChannel } from 'node:diagnostics_channel';

const IS_TRANSACTIONAL = 1 << 4;
const IS_CONTROL = 1 << 5;

interface Batch {
  firstOffset: bigint;
  lastOffsetDelta: number;
  attributes: number;
  producerId: bigint;
  records: { key?: Buffer | null }[];
}
interface PartitionAnswer {
  records?: Batch[] | null;
  abortedTransactions?: { producerId: bigint; firstOffset: bigint }[] | null;
}
interface FetchAnswer {
  responses?: { partitions: PartitionAnswer[] }[];
}

/** Empties the batches of aborted transactions in one fetch answer (exported for tests). */
export function dropAborted(answer: FetchAnswer): void {
  for (const topic of answer.responses ?? [])
    for (const p of topic.partitions) {
      if (!p.records || !p.abortedTransactions?.length) continue;
      const aborted = [...p.abortedTransactions].sort((a, b) =>
        a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0,
      );
      const inAborted = new Set<bigint>();
      p.records = p.records.map((batch) => {
        const last = batch.firstOffset + BigInt(batch.lastOffsetDelta);
        while (aborted.length > 0 && aborted[0]!.firstOffset <= last)
          inAborted.add(aborted.shift()!.producerId);
        if (batch.attributes & IS_CONTROL) {
          // the control record's key: version (int16), type (int16; 0 = abort)
          const key = batch.records[0]?.key;
          if (key && key.length >= 4 && key.readInt16BE(2) === 0) inAborted.delete(batch.producerId);
          return batch;
        }
        if (batch.attributes & IS_TRANSACTIONAL && inAborted.has(batch.producerId))
          return { ...batch, records: [] };
        return batch;
      });
    }
}

let installed = false;

/** Subscribes once per process to the client's fetch answers (before its stream sees them). */
export function installReadCommittedFix(): void {
  if (installed) return;
  installed = true;
  tracingChannel('plt:kafka:consumer:fetches').subscribe({
    start() {},
    end() {},
    asyncStart(ctx: unknown) {
      const c = ctx as { result?: FetchAnswer; error?: unknown };
      if (!c.error && c.result) dropAborted(c.result);
    },
    asyncEnd() {},
    error() {},
  });
}
