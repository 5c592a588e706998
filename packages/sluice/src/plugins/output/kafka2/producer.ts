// Delivery of a chunk's messages through one idempotent producer, with the rules that make
// "written" mean "acknowledged by the broker" without loss or needless duplicates:
// - one produce request at a time per output: @platformatic/kafka takes a partition's
//   sequence number when it builds a request and advances it on the answer, so two requests
//   in flight to one partition would carry the same numbers, and the broker would take the
//   second for a duplicate of the first;
// - a chunk goes in requests holding at most max_batch_bytes for each partition, cut the
//   same way on every attempt (while the topic keeps its partition count); how many of a
//   chunk's messages were acknowledged is remembered (by chunk id), and a retry of the chunk
//   sends only the rest;
// - a request that failed may still have been written. Its retry carries the same sequence
//   numbers, so the broker acknowledges it without writing it twice. Anything else sent
//   after such a failure first takes a new producer id (sequences restart), since reusing
//   the numbers for other messages would make the broker drop them as duplicates;
// - MESSAGE_TOO_LARGE / RECORD_LIST_TOO_LARGE: the broker wrote nothing; the request is
//   split in halves until the single message it refuses is found, which is rejected alone.
import { kOptions, type MessageToProduce, Producer, type ProducerOptions } from '@platformatic/kafka';
import { SluiceError } from '../../../core/errors.ts';
import { defined } from '../../../shared/kafka/connection.ts';
import type { KafkaMessage, MessageMeta } from './encode.ts';
import { DirectProducer } from './produce.ts';

type Opts = ProducerOptions<Buffer, Buffer, Buffer, Buffer>;

export interface DeliveryOptions {
  producer: Opts;
  /**
   * The longest one produce request may take, retries included. The client was seen waiting
   * without end for a broker whose connections were cut; past this the request counts as
   * failed and the producer is replaced (new connections, new producer id).
   */
  sendTimeoutMs: number;
  idempotent: boolean;
  maxBatchBytes: number;
  maxBatchMessages?: number;
  partitionHash: (key: Buffer) => number;
  /** exactly_once: each chunk in a transaction under this id (transactional.ts) */
  transactionalId?: string;
}

export interface DeliveryResult {
  /** messages the broker refused as too large (each alone) */
  tooLarge: KafkaMessage[];
  /** the failure that stopped the delivery; the chunk is to be retried */
  error?: Error;
  /** exactly_once: the chunk had been delivered before (by an earlier process); nothing sent */
  replayed?: boolean;
}

/** A produce request's size at most (the broker's socket.request.max.bytes is 100 MiB). */
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/** The broker's error id (e.g. MESSAGE_TOO_LARGE) anywhere in a client error. */
export function brokerErrorIds(e: unknown): string[] {
  const ids: string[] = [];
  const walk = (x: unknown, depth: number) => {
    if (!x || typeof x !== 'object' || depth > 6) return;
    const o = x as { apiId?: unknown; errors?: unknown; cause?: unknown };
    if (typeof o.apiId === 'string') ids.push(o.apiId);
    if (Array.isArray(o.errors)) for (const c of o.errors) walk(c, depth + 1);
    if (o.cause) walk(o.cause, depth + 1);
  };
  walk(e, 0);
  return ids;
}

/** The client's error message with the causes it wraps (MultipleErrors hides them). */
export function describe(e: unknown): string {
  const parts: string[] = [];
  const walk = (x: unknown, depth: number) => {
    if (!x || typeof x !== 'object' || depth > 4) return;
    const o = x as { message?: unknown; errors?: unknown; cause?: unknown };
    if (typeof o.message === 'string' && !parts.includes(o.message)) parts.push(o.message);
    if (Array.isArray(o.errors)) for (const c of o.errors.slice(0, 3)) walk(c, depth + 1);
    if (o.cause) walk(o.cause, depth + 1);
  };
  walk(e, 0);
  return parts.join(': ') || String(e);
}

export class KafkaDelivery {
  producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  /** the end of the last request handed to the client: requests go one at a time */
  protected tail: Promise<unknown> = Promise.resolve();
  /** `chunk:request` of a request that failed and may have been written */
  private suspect: string | undefined;
  /** chunk id -> messages of it already acknowledged (a prefix) */
  private readonly acked = new Map<string, number>();

  /**
   * Produce requests written here (produce.ts), uncompressed; the client's own path with
   * compression_codec, and with acks 0 (no answer to wait for)
   */
  protected readonly direct: DirectProducer | undefined;

  constructor(protected readonly o: DeliveryOptions) {
    this.producer = this.newProducer();
    const acks = o.producer.acks ?? -1;
    this.direct =
      acks === 0 || o.producer.compression
        ? undefined
        : new DirectProducer(acks, o.producer.timeout ?? 5_000, o.idempotent);
  }

  protected producerOptions(): Opts {
    return defined(this.o.producer);
  }

  private newProducer(): Producer<Buffer, Buffer, Buffer, Buffer> {
    const hash = this.o.partitionHash;
    const producer = new Producer<Buffer, Buffer, Buffer, Buffer>({
      ...this.producerOptions(),
      idempotent: this.o.idempotent,
      autocreateTopics: true,
      partitioner: (message: MessageToProduce<Buffer, Buffer, Buffer, Buffer>, key: Buffer | undefined) => {
        const m = message.metadata as MessageMeta;
        if (m.pkey) return hash(m.pkey);
        if (key) return hash(key);
        return m.seed;
      },
    });
    // The client makes 0 or 1 retries of an idempotent producer endless (and a boolean true
    // too), which left a retry loop running after close() for each producer replaced while
    // its broker refused it: max_send_retries is set back once the client has read it.
    const retries = this.o.producer.retries;
    if (typeof retries === 'number')
      (producer as unknown as Record<symbol, Opts>)[kOptions]!.retries = retries;
    return producer;
  }

  /** Replaces a producer that stopped answering; the old one is closed in the background. */
  protected replaceProducer(): void {
    const old = this.producer;
    this.producer = this.newProducer();
    this.suspect = undefined; // a new producer id: no sequence number is shared with the old one
    old.close(true, () => {});
  }

  /** The client's promise, or a timeout error once sendTimeoutMs passed. */
  protected async bounded<T>(p: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          Object.assign(
            new SluiceError('KAFKA_SEND_FAILED', `${what}: no answer in ${this.o.sendTimeoutMs} ms`),
            {
              watchdog: true,
            },
          ),
        );
      }, this.o.sendTimeoutMs);
    });
    try {
      return await Promise.race([p, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The requests for `messages`, in order: a request ends before any partition's share of it
   * would pass max_batch_bytes (the broker's limit applies to each partition's batch), or at
   * kafka_agg_max_messages. With messages spread over P partitions a request holds about P
   * times max_batch_bytes, at most MAX_REQUEST_BYTES.
   */
  protected requests(
    messages: KafkaMessage[],
    sizes: number[],
    partitionOf: (m: KafkaMessage) => number,
  ): KafkaMessage[][] {
    const out: KafkaMessage[][] = [];
    let cur: KafkaMessage[] = [];
    let total = 0;
    const perPartition = new Map<number, number>();
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      const size = sizes[i]! + 70; // a record's overhead in a v2 batch, at most
      const part = partitionOf(m);
      if (
        cur.length > 0 &&
        ((perPartition.get(part) ?? 0) + size > this.o.maxBatchBytes ||
          total + size > MAX_REQUEST_BYTES ||
          (this.o.maxBatchMessages !== undefined && cur.length >= this.o.maxBatchMessages))
      ) {
        out.push(cur);
        cur = [];
        total = 0;
        perPartition.clear();
      }
      cur.push(m);
      total += size;
      perPartition.set(part, (perPartition.get(part) ?? 0) + size);
    }
    if (cur.length > 0) out.push(cur);
    return out;
  }

  /** Where the client will put a message: the partitioner's choice modulo the topic's partitions. */
  protected async partitioner(topic: string): Promise<(m: KafkaMessage) => number> {
    let count = 1;
    try {
      const md = await this.bounded(
        this.producer.metadata({ topics: [topic], autocreateTopics: true }),
        'Metadata',
      );
      count = md.topics.get(topic)?.partitionsCount ?? 1;
    } catch {
      // unknown: requests are cut as if the topic had one partition (smaller, still right)
    }
    const hash = this.o.partitionHash;
    return (m) => {
      const p =
        m.partition ?? (m.metadata.pkey ? hash(m.metadata.pkey) : m.key ? hash(m.key) : m.metadata.seed);
      return p % count;
    };
  }

  async deliver(chunkId: string, messages: KafkaMessage[], sizes: number[]): Promise<DeliveryResult> {
    const tooLarge: KafkaMessage[] = [];
    // Progress is counted in messages, not requests: a retry cuts what is left anew (the
    // partition count may have changed) and never skips a message not acknowledged.
    let done = this.acked.get(chunkId) ?? 0;
    const topic = messages[0]?.topic;
    const partitionOf = topic !== undefined ? await this.partitioner(topic) : () => 0;
    for (const request of this.requests(messages.slice(done), sizes.slice(done), partitionOf)) {
      const error = await this.sendSplitting(
        `${chunkId}:${done}:${request.length}`,
        request,
        tooLarge,
        (id, m) => this.send(id, m, partitionOf),
      );
      if (error) return { tooLarge, error };
      done += request.length;
      this.remember(chunkId, done);
    }
    this.acked.delete(chunkId);
    return { tooLarge };
  }

  private remember(chunkId: string, messages: number): void {
    this.acked.set(chunkId, messages);
    // chunks given up by the buffer are never seen again: keep the newest few hundred
    if (this.acked.size > 512) this.acked.delete(this.acked.keys().next().value!);
  }

  /** The buffer gave the chunk up (or delivered it some other way): forget its progress. */
  forget(chunkId: string): void {
    this.acked.delete(chunkId);
  }

  protected async sendSplitting(
    id: string,
    messages: KafkaMessage[],
    tooLarge: KafkaMessage[],
    send: (id: string, messages: KafkaMessage[]) => Promise<Error | undefined>,
  ): Promise<Error | undefined> {
    const error = await send(id, messages);
    if (!error) return undefined;
    if (!brokerErrorIds(error).some((x) => TOO_LARGE.has(x))) return error;
    // Nothing of the request was written: find the message the broker refuses.
    if (messages.length === 1) {
      tooLarge.push(messages[0]!);
      return undefined;
    }
    const half = Math.ceil(messages.length / 2);
    return (
      (await this.sendSplitting(`${id}/a`, messages.slice(0, half), tooLarge, send)) ??
      (await this.sendSplitting(`${id}/b`, messages.slice(half), tooLarge, send))
    );
  }

  /** One produce request, after those before it; resolves with its error, if any. */
  private send(
    id: string,
    messages: KafkaMessage[],
    partitionOf: (m: KafkaMessage) => number,
  ): Promise<Error | undefined> {
    const run = async (): Promise<Error | undefined> => {
      if (this.o.idempotent && this.suspect !== undefined && this.suspect !== id) {
        try {
          await this.bounded(this.producer.initIdempotentProducer({}), 'InitProducerId');
        } catch (e) {
          if ((e as { watchdog?: boolean }).watchdog) this.replaceProducer();
          return e as Error;
        }
        this.suspect = undefined;
      }
      try {
        const sent =
          this.direct !== undefined &&
          (await this.bounded(
            this.direct.send(this.producer, messages[0]!.topic, messages, partitionOf),
            'Produce',
          ));
        if (!sent) await this.bounded(this.producer.send({ messages }), 'Produce');
        this.suspect = undefined;
        return undefined;
      } catch (e) {
        if ((e as { findBy?: (k: string, v: unknown) => unknown }).findBy?.('hasStaleMetadata', true))
          this.producer.clearMetadata();
        if ((e as { watchdog?: boolean }).watchdog) {
          this.replaceProducer();
          return e as Error;
        }
        // refused as too large: nothing written, the numbers are free again
        if (!brokerErrorIds(e).some((x) => TOO_LARGE.has(x))) this.suspect = id;
        return e as Error;
      }
    };
    const p = this.tail.then(run);
    this.tail = p.catch(() => {});
    return p;
  }

  async close(): Promise<void> {
    await this.tail;
    await this.producer.close();
  }
}
