// exactly_once: each chunk is written in one Kafka transaction, and the same transaction
// records the chunk's id, so a chunk the broker committed but the process did not live to
// delete from its file buffer is recognised when the next process replays it, and not sent
// again. The idempotent producer alone cannot do this: a new process is a new producer id,
// which the broker cannot match to the old one's sequence numbers.
//
// Where the ids are kept: the metadata string of an offset commit (TxnOffsetCommit, part of
// the transaction) for the consumer group named as the transactional id, on partition 0 of
// the chunk's topic. It holds the newest ids, newest first; reading it back (OffsetFetch with
// require_stable) costs one request and never sees an aborted transaction's ids. A new
// process first takes the transactional id (InitProducerId), which fences the old one and
// aborts its open transaction, then reads the ids.
//
// @platformatic/kafka has transactions but its offset commit sends no metadata, so that one
// request is sent through the producer's own connections (the client's exported symbols).
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Admin,
  FindCoordinatorKeyTypes,
  kGetApi,
  kGetBootstrapConnection,
  kGetConnection,
  kMetadata,
  kPerformWithRetry,
  type Producer,
} from '@platformatic/kafka';
import type { KafkaMessage } from './encode.ts';
import { brokerErrorIds, type DeliveryOptions, type DeliveryResult, KafkaDelivery } from './producer.ts';

const COORDINATOR_BUSY = new Set([
  'NOT_COORDINATOR',
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'CONCURRENT_TRANSACTIONS',
]);

/** How many delivered chunk ids are kept: 33 bytes each, under offset.metadata.max.bytes (4096). */
const KEEP = 100;

type Cb<T> = (error: Error | null, result?: T) => void;
/** The part of the client's base class used here (exported as symbols by the package). */
interface ClientInternals {
  [kGetBootstrapConnection](cb: Cb<unknown>): void;
  [kGetConnection](broker: unknown, cb: Cb<unknown>): void;
  [kGetApi](name: string, cb: Cb<(...args: unknown[]) => void>): void;
  [kMetadata](o: { topics: string[] }, cb: Cb<{ brokers: Map<number, unknown> }>): void;
  [kPerformWithRetry](id: string, op: (cb: Cb<unknown>) => void, cb: Cb<unknown>): void;
}

function call<T>(f: (cb: Cb<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => f((e, r) => (e ? reject(e) : resolve(r as T))));
}

type Tx = Awaited<ReturnType<Producer<Buffer, Buffer, Buffer, Buffer>['beginTransaction']>>;

export class TransactionalDelivery extends KafkaDelivery {
  private readonly txid: string;
  /** delivered chunk ids, newest first */
  private recent: string[] = [];
  private loaded = false;
  private tx: Tx | undefined;
  private coordinator: number | undefined;
  /** topic -> the end offset of its partition 0 as last seen (the group's committed offset) */
  private readonly p0End = new Map<string, bigint>();

  constructor(o: DeliveryOptions & { transactionalId: string }) {
    super(o);
    this.txid = o.transactionalId;
  }

  protected override producerOptions() {
    const o = super.producerOptions();
    return {
      ...o,
      transactionalId: this.o.transactionalId,
      // the client would send producer id 0 epoch 0 in InitProducerId, which the broker takes
      // for a stale instance of an existing transactional id (PRODUCER_FENCED); -1 is "new"
      producerId: -1n,
      producerEpoch: -1,
      // also the transaction timeout: the broker aborts a transaction left open this long
      timeout: Math.max(o.timeout ?? 0, 60_000),
    };
  }

  protected override replaceProducer(): void {
    this.tx = undefined;
    this.coordinator = undefined;
    super.replaceProducer();
  }

  /** Takes the transactional id (fencing an earlier process) and reads the ids it committed. */
  async start(): Promise<void> {
    const run = this.tail.then(() => this.load());
    this.tail = run.catch(() => {});
    await run;
  }

  private async load(): Promise<void> {
    if (this.loaded) return;
    // a transaction coordinator being elected or loaded (a new cluster, a broker restarted)
    // answers for a few seconds with errors the client gives up on after max_send_retries
    for (let attempt = 1; !this.tx; attempt++) {
      try {
        this.tx = await this.bounded(this.producer.beginTransaction(), 'InitProducerId');
      } catch (e) {
        if (attempt >= 40 || !brokerErrorIds(e).some((x) => COORDINATOR_BUSY.has(x))) throw e;
        this.replaceProducer(); // the client keeps the coordinator it found first
        await sleep(Math.min(250 * attempt, 1_000));
      }
    }
    const c = this.o.producer;
    const admin = new Admin({
      clientId: c.clientId ?? 'sluice',
      bootstrapBrokers: c.bootstrapBrokers,
      ...(c.tls ? { tls: c.tls } : {}),
      ...(c.sasl ? { sasl: c.sasl } : {}),
      ...(c.connectTimeout ? { connectTimeout: c.connectTimeout } : {}),
      retries: 20,
      retryDelay: 250,
    });
    try {
      const groups = await this.bounded(
        admin.listConsumerGroupOffsets({ groups: [this.txid], requireStable: true }),
        'OffsetFetch',
      );
      const ids: string[] = [];
      for (const g of groups)
        for (const t of g.topics)
          for (const p of t.partitions) {
            if (p.partitionIndex !== 0) continue;
            if (p.committedOffset >= 0n) this.p0End.set(t.name, p.committedOffset);
            for (const id of (p.metadata ?? '').split(' ')) if (id && !ids.includes(id)) ids.push(id);
          }
      this.recent = ids.slice(0, KEEP);
      this.loaded = true;
    } finally {
      await admin.close().catch(() => {});
    }
  }

  override async deliver(
    chunkId: string,
    messages: KafkaMessage[],
    sizes: number[],
  ): Promise<DeliveryResult> {
    // the whole chunk holds the producer: one transaction at a time
    const run = this.tail.then(() => this.deliverAlone(chunkId, messages, sizes));
    this.tail = run.catch(() => {});
    return run;
  }

  private async deliverAlone(
    chunkId: string,
    messages: KafkaMessage[],
    sizes: number[],
  ): Promise<DeliveryResult> {
    const tooLarge: KafkaMessage[] = [];
    let tx: Tx | undefined;
    try {
      await this.load();
      if (this.recent.includes(chunkId)) return { tooLarge, replayed: true };
      tx = this.tx ?? (await this.bounded(this.producer.beginTransaction(), 'InitProducerId'));
      this.tx = tx;
      const topic = messages[0]!.topic;
      const partitionOf = await this.partitioner(topic);
      const send = async (_id: string, batch: KafkaMessage[]): Promise<Error | undefined> => {
        try {
          const direct = this.direct;
          if (direct) {
            const add = async (partitions: number[]) => {
              const md = await this.producer.metadata({ topics: [topic] });
              await tx!.addPartitions(md, partitions.map((partition) => ({ topic, partition })) as never);
            };
            const sent = await this.bounded(
              direct.send(this.producer, topic, batch, partitionOf, { id: this.txid, addPartitions: add }),
              'Produce',
            );
            if (sent) {
              const end = sent.get(0);
              if (end !== undefined) this.p0End.set(topic, end);
              return undefined;
            }
          }
          const res = await this.bounded(tx!.send({ messages: batch }), 'Produce');
          const base = res.offsets?.find((o) => o.topic === topic && o.partition === 0)?.offset;
          if (base !== undefined) {
            let n = 0n;
            for (const m of batch) if (partitionOf(m) === 0) n++;
            this.p0End.set(topic, base + n);
          }
          return undefined;
        } catch (e) {
          return e as Error;
        }
      };
      let i = 0;
      for (const request of this.requests(messages, sizes, partitionOf)) {
        const error = await this.sendSplitting(`${chunkId}:${i++}`, request, tooLarge, send);
        if (error) throw error;
      }
      const ids = [chunkId, ...this.recent].slice(0, KEEP);
      await this.bounded(tx.addConsumer({ groupId: this.txid } as never), 'AddOffsetsToTxn');
      await this.bounded(this.commitIds(topic, ids.join(' ')), 'TxnOffsetCommit');
      await this.bounded(tx.commit(), 'EndTxn');
      this.tx = undefined;
      this.recent = ids;
      return { tooLarge };
    } catch (e) {
      // nothing of an aborted transaction is read by a read_committed consumer; the next
      // attempt sends the whole chunk again in a new one
      this.tx = undefined;
      if ((e as { watchdog?: boolean }).watchdog || !tx) this.replaceProducer();
      else
        try {
          await this.bounded(tx.abort(), 'EndTxn');
        } catch {
          this.replaceProducer(); // the next InitProducerId aborts it
        }
      return { tooLarge: [], error: e as Error };
    }
  }

  /** TxnOffsetCommit of `metadata` on partition 0 of `topic`, in the open transaction. */
  private commitIds(topic: string, metadata: string): Promise<unknown> {
    const p = this.producer as unknown as ClientInternals;
    const once = async (): Promise<unknown> => {
      if (this.coordinator === undefined) {
        const conn = await call<unknown>((cb) => p[kGetBootstrapConnection](cb));
        const api = await call<(...a: unknown[]) => void>((cb) => p[kGetApi]('FindCoordinator', cb));
        const res = await call<{ coordinators: { nodeId: number }[] }>((cb) =>
          api(conn, FindCoordinatorKeyTypes.GROUP, [this.txid], cb),
        );
        this.coordinator = res.coordinators[0]!.nodeId;
      }
      const md = await call<{ brokers: Map<number, unknown> }>((cb) => p[kMetadata]({ topics: [topic] }, cb));
      const conn = await call<unknown>((cb) => p[kGetConnection](md.brokers.get(this.coordinator!), cb));
      const api = await call<(...a: unknown[]) => void>((cb) => p[kGetApi]('TxnOffsetCommit', cb));
      return call<unknown>((cb) =>
        api(
          conn,
          this.txid,
          this.txid,
          this.producer.producerId,
          this.producer.producerEpoch,
          -1, // no member: the group is only this bookkeeping
          '',
          null,
          [
            {
              name: topic,
              partitions: [
                {
                  partitionIndex: 0,
                  committedOffset: this.p0End.get(topic) ?? 0n,
                  committedLeaderEpoch: -1,
                  committedMetadata: metadata,
                },
              ],
            },
          ],
          (e: Error | null, r: unknown) => {
            if (e) this.coordinator = undefined; // NOT_COORDINATOR and the like: look it up again
            cb(e, r);
          },
        ),
      );
    };
    return call<unknown>((cb) =>
      p[kPerformWithRetry](
        'sluiceChunkIds',
        (rc) =>
          once().then(
            (r) => rc(null, r),
            (e) => rc(e as Error),
          ),
        cb,
      ),
    );
  }

  override forget(_chunkId: string): void {}
}
