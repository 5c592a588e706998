// One Produce request per partition leader, its record batches written by record-batch.ts,
// sent through the producer's own connections, metadata and retries (the client's exported
// symbols). The idempotent producer's sequence numbers are kept here: a partition's number
// is taken when a request is built and advanced only when the broker has acknowledged it,
// and the client's retry of a request sends the same bytes (the same numbers), which the
// broker acknowledges without writing them twice.
import {
  createAPI,
  kGetApi,
  kGetConnection,
  kMetadata,
  kPerformWithRetry,
  type Producer,
  produceV9,
  produceV10,
  produceV11,
  Writer,
} from '@platformatic/kafka';
import type { KafkaMessage } from './encode.ts';
import { recordBatch } from './record-batch.ts';

type Cb<T> = (error: Error | null, result?: T) => void;
interface ClientInternals {
  [kGetConnection](broker: unknown, cb: Cb<unknown>): void;
  [kGetApi](name: string, cb: Cb<{ version: number }>): void;
  [kMetadata](
    o: { topics: string[]; autocreateTopics?: boolean },
    cb: Cb<{ brokers: Map<number, unknown>; topics: Map<string, { partitions: { leader: number }[] }> }>,
  ): void;
  [kPerformWithRetry](id: string, op: (cb: Cb<unknown>) => void, cb: Cb<unknown>): void;
}

interface ProduceAnswer {
  responses: { partitionResponses: { index: number; baseOffset: bigint }[] }[];
}

function call<T>(f: (cb: Cb<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => f((e, r) => (e ? reject(e) : resolve(r as T))));
}

const PARSERS: Record<number, (...a: never[]) => unknown> = {
  9: produceV9.parseResponse as never,
  10: produceV10.parseResponse as never,
  11: produceV11.parseResponse as never,
};
type Api = (connection: unknown, ...args: unknown[]) => void;
const apis = new Map<number, Api>();

/** The Produce API of the version the client negotiated, with this module's request. */
function produceApi(version: number): Api | undefined {
  const parse = PARSERS[version];
  if (!parse) return undefined;
  let api = apis.get(version);
  if (!api) {
    api = createAPI(
      0,
      version,
      (acks: number, timeout: number, topic: string, batches: [number, Buffer][], txid: string | null) =>
        Writer.create()
          .appendString(txid, true)
          .appendInt16(acks)
          .appendInt32(timeout)
          .appendArray([topic], (w: Writer, name: string) => {
            w.appendString(name, true).appendArray(
              batches,
              (w: Writer, [partition, batch]: [number, Buffer]) => {
                w.appendInt32(partition)
                  .appendUnsignedVarInt(batch.length + 1)
                  .append(batch);
              },
            );
          })
          .appendTaggedFields(),
      parse as never,
    ) as unknown as Api;
    apis.set(version, api);
  }
  return api;
}

export class DirectProducer {
  private readonly sequences = new Map<string, number>();
  private sequencesOf: string | undefined;

  constructor(
    private readonly acks: number,
    private readonly timeoutMs: number,
    private readonly idempotent: boolean,
  ) {}

  /**
   * Sends `messages` (one topic; `partitionOf` says where each goes) and resolves when every
   * leader acknowledged its share; rejects with the client's error otherwise (nothing is
   * known of the shares that failed: the caller treats the request as possibly written).
   * Resolves with each partition's end offset after the write, or false when the negotiated
   * Produce version is not one this module writes (the caller uses the client's send).
   */
  async send(
    producer: Producer<Buffer, Buffer, Buffer, Buffer>,
    topic: string,
    messages: KafkaMessage[],
    partitionOf: (m: KafkaMessage) => number,
    /** exactly_once: the open transaction's id; its partitions are added to it first */
    transaction?: { id: string; addPartitions(partitions: number[]): Promise<unknown> },
  ): Promise<Map<number, bigint> | false> {
    const p = producer as unknown as ClientInternals;
    if (this.idempotent && producer.producerId === undefined) await producer.initIdempotentProducer({});
    const owner = `${producer.producerId}:${producer.producerEpoch}`;
    if (owner !== this.sequencesOf) {
      this.sequences.clear(); // a new producer id or epoch starts its numbers at 0
      this.sequencesOf = owner;
    }
    const version = (await call<{ version: number }>((cb) => p[kGetApi]('Produce', cb))).version;
    const api = produceApi(version);
    if (!api) return false;
    const md = await call<{
      brokers: Map<number, unknown>;
      topics: Map<string, { partitions: { leader: number }[] }>;
    }>((cb) => p[kMetadata]({ topics: [topic], autocreateTopics: true }, cb));
    const parts = md.topics.get(topic)!.partitions;
    const byPartition = new Map<number, KafkaMessage[]>();
    for (const m of messages) {
      const part = partitionOf(m);
      let list = byPartition.get(part);
      if (!list) byPartition.set(part, (list = []));
      list.push(m);
    }
    const byLeader = new Map<number, [number, Buffer][]>();
    const counts = new Map<number, number>();
    const now = BigInt(Date.now());
    for (const [part, list] of byPartition) {
      const key = `${topic}:${part}`;
      const batch = recordBatch(
        list,
        this.idempotent
          ? {
              producerId: producer.producerId!,
              producerEpoch: producer.producerEpoch!,
              baseSequence: this.sequences.get(key) ?? 0,
              transactional: transaction !== undefined,
            }
          : { producerId: -1n, producerEpoch: -1, baseSequence: -1 },
        now,
      );
      const leader = parts[part]!.leader;
      let l = byLeader.get(leader);
      if (!l) byLeader.set(leader, (l = []));
      l.push([part, batch]);
      counts.set(part, list.length);
    }
    if (transaction) await transaction.addPartitions([...byPartition.keys()]);
    const ends = new Map<number, bigint>();
    await Promise.all(
      [...byLeader].map(async ([leader, batches]) => {
        const res = await call<ProduceAnswer>((cb) =>
          p[kPerformWithRetry](
            'produce',
            (retry) =>
              p[kGetConnection](md.brokers.get(leader), (e, conn) => {
                if (e) retry(e);
                else api(conn, this.acks, this.timeoutMs, topic, batches, transaction?.id ?? null, retry);
              }),
            cb as Cb<unknown>,
          ),
        );
        for (const t of res?.responses ?? [])
          for (const r of t.partitionResponses)
            ends.set(r.index, r.baseOffset + BigInt(counts.get(r.index) ?? 0));
        if (this.idempotent)
          for (const [part] of batches) {
            const key = `${topic}:${part}`;
            // sequence numbers wrap to 0 after the largest int32
            this.sequences.set(key, ((this.sequences.get(key) ?? 0) + counts.get(part)!) % 2 ** 31);
          }
      }),
    );
    return ends;
  }
}
