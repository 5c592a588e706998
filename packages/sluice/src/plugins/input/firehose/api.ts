// The Firehose API as AWS SDKs call it: POST / with `X-Amz-Target: Firehose_20150804.<Op>`
// and an AWS JSON 1.1 body. PutRecord and PutRecordBatch feed the pipeline;
// ListDeliveryStreams and DescribeDeliveryStream answer from the configured streams.
import type { HttpReply } from '../../../shared/http-in/server.ts';
import { AwsError, awsReply, LIMITS, SLOW_DOWN, validation } from './errors.ts';
import type { RecordEmitter, RecordResult } from './records.ts';

export const TARGET_PREFIX = 'Firehose_20150804.';

export interface StreamsView {
  /** configured delivery stream names, in config order */
  names: readonly string[];
  tagOf(stream: string): string;
  region: string;
  accountId: string;
  /** when the input started, for CreateTimestamp */
  startedAt: Date;
}

type Body = Record<string, unknown>;

const STREAM_NAME_RE = /^[a-zA-Z0-9_.-]{1,64}$/;

export function arnOf(v: StreamsView, name: string): string {
  return `arn:aws:firehose:${v.region}:${v.accountId}:deliverystream/${name}`;
}

function streamOf(v: StreamsView, body: Body): string {
  const name = body.DeliveryStreamName;
  if (typeof name !== 'string')
    throw validation(
      "Value null at 'deliveryStreamName' failed to satisfy constraint: Member must not be null",
    );
  if (!STREAM_NAME_RE.test(name))
    throw validation(
      `Value '${name.slice(0, 80)}' at 'deliveryStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 1 and 64`,
    );
  if (!v.names.includes(name))
    throw new AwsError(
      400,
      'ResourceNotFoundException',
      `Firehose ${name} under account ${v.accountId} not found.`,
      'FIREHOSE_UNKNOWN_STREAM',
    );
  return name;
}

/** Base64 record data, each checked against the per-record and per-call limits. */
function decodeRecords(list: unknown[], single: boolean): Buffer[] {
  const out: Buffer[] = new Array(list.length);
  let total = 0;
  for (let i = 0; i < list.length; i++) {
    const where = single ? 'record.data' : `records.${i + 1}.member.data`;
    const data = (list[i] as { Data?: unknown } | null)?.Data;
    if (typeof data !== 'string')
      throw validation(`Value null at '${where}' failed to satisfy constraint: Member must not be null`);
    // base64 decodes to at most 3/4 of its length: refuse an oversize record before decoding it.
    if (Math.floor((data.length * 3) / 4) - 2 > LIMITS.recordBytes) throw tooBig(where);
    const b = Buffer.from(data, 'base64');
    if (b.length > LIMITS.recordBytes) throw tooBig(where);
    total += b.length;
    out[i] = b;
  }
  if (total > LIMITS.callBytes)
    throw new AwsError(400, 'InvalidArgumentException', 'Records size exceeds 4 MB limit', 'FIREHOSE_LIMIT');
  return out;
}

function tooBig(where: string): AwsError {
  const e = validation(
    `Value at '${where}' failed to satisfy constraint: Member must have length less than or equal to ${LIMITS.recordBytes}`,
  );
  return new AwsError(e.status, e.type, e.message, 'FIREHOSE_LIMIT');
}

export class FirehoseApi {
  constructor(
    private readonly view: StreamsView,
    private readonly emitter: RecordEmitter,
  ) {}

  /** Runs one API call; throws AwsError for what AWS answers with an error. */
  async call(target: string, raw: Buffer): Promise<HttpReply> {
    if (!target.startsWith(TARGET_PREFIX))
      throw new AwsError(
        400,
        'UnknownOperationException',
        `unknown target '${target}'`,
        'FIREHOSE_UNKNOWN_OPERATION',
      );
    const op = target.slice(TARGET_PREFIX.length);
    let body: Body;
    try {
      const v: unknown = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
      body = v as Body;
    } catch (e) {
      throw new AwsError(
        400,
        'SerializationException',
        `the body is not a JSON object: ${(e as Error).message}`,
        'FIREHOSE_INVALID_REQUEST',
      );
    }
    switch (op) {
      case 'PutRecordBatch':
        return this.putRecordBatch(body);
      case 'PutRecord':
        return this.putRecord(body);
      case 'ListDeliveryStreams':
        return this.list(body);
      case 'DescribeDeliveryStream':
        return this.describe(body);
      default:
        throw new AwsError(
          400,
          'UnknownOperationException',
          `Sluice's firehose input does not serve ${op}; it serves PutRecord, PutRecordBatch, ListDeliveryStreams and DescribeDeliveryStream (the delivery streams are its configuration)`,
          'FIREHOSE_UNKNOWN_OPERATION',
        );
    }
  }

  private async putRecordBatch(body: Body): Promise<HttpReply> {
    const stream = streamOf(this.view, body);
    const list = body.Records;
    if (!Array.isArray(list))
      throw validation("Value null at 'records' failed to satisfy constraint: Member must not be null");
    if (list.length === 0)
      throw validation(
        "Value '[]' at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1",
      );
    if (list.length > LIMITS.recordsPerCall) {
      const e = validation(
        `Value at 'records' failed to satisfy constraint: Member must have length less than or equal to ${LIMITS.recordsPerCall}`,
      );
      throw new AwsError(e.status, e.type, e.message, 'FIREHOSE_LIMIT');
    }
    const results: RecordResult[] = await this.emitter.emit(
      this.view.tagOf(stream),
      decodeRecords(list, false),
    );
    let failed = 0;
    for (const r of results) if ('ErrorCode' in r) failed++;
    return awsReply(200, { FailedPutCount: failed, Encrypted: false, RequestResponses: results });
  }

  private async putRecord(body: Body): Promise<HttpReply> {
    const stream = streamOf(this.view, body);
    const [r] = await this.emitter.emit(this.view.tagOf(stream), decodeRecords([body.Record], true));
    if (r && 'ErrorCode' in r)
      throw new AwsError(
        r.ErrorCode === SLOW_DOWN ? 503 : 500,
        r.ErrorCode,
        r.ErrorMessage,
        'FIREHOSE_RECORDS_REFUSED',
      );
    return awsReply(200, { RecordId: r!.RecordId, Encrypted: false });
  }

  private list(body: Body): HttpReply {
    const limit = body.Limit === undefined ? 10 : Number(body.Limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
      throw validation(
        `Value '${String(body.Limit)}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 10000`,
      );
    const type = body.DeliveryStreamType;
    const after =
      typeof body.ExclusiveStartDeliveryStreamName === 'string' ? body.ExclusiveStartDeliveryStreamName : '';
    // Every stream here is what Firehose calls DirectPut (records are put by clients).
    const names =
      type !== undefined && type !== 'DirectPut' ? [] : [...this.view.names].sort().filter((n) => n > after);
    return awsReply(200, {
      DeliveryStreamNames: names.slice(0, limit),
      HasMoreDeliveryStreams: names.length > limit,
    });
  }

  private describe(body: Body): HttpReply {
    const name = streamOf(this.view, body);
    return awsReply(200, {
      DeliveryStreamDescription: {
        DeliveryStreamName: name,
        DeliveryStreamARN: arnOf(this.view, name),
        DeliveryStreamStatus: 'ACTIVE',
        DeliveryStreamEncryptionConfiguration: { Status: 'DISABLED' },
        DeliveryStreamType: 'DirectPut',
        VersionId: '1',
        CreateTimestamp: this.view.startedAt.getTime() / 1000,
        Destinations: [],
        HasMoreDestinations: false,
      },
    });
  }
}
