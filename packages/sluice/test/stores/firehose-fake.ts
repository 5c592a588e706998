// A Firehose endpoint on the wire, for what moto does not do: moto's PutRecordBatch never
// reports a failed record (FailedPutCount is always 0) and checks none of Firehose's limits.
// This speaks the real protocol, AWS JSON 1.1: POST / with
// `X-Amz-Target: Firehose_20150804.<Operation>`, `Content-Type: application/x-amz-json-1.1`,
// a SigV4 Authorization header (its presence is checked, not its signature), base64 record
// data, and errors as `{"__type": ..., "message": ...}` with `x-amzn-ErrorType`. So any
// client (the AWS SDK, an output plugin's own HTTP code) can be pointed at it. A test decides
// which records fail (`failRecords`) and which whole requests fail (`failRequests`).

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Firehose's limits for PutRecordBatch (per the API reference). */
export const FIREHOSE_LIMITS = {
  maxRecordsPerBatch: 500,
  /** bytes of one record's data, before base64 (1,000 KiB) */
  maxRecordBytes: 1_024_000,
  /** bytes of all records' data in one call, before base64 (4 MiB) */
  maxBatchBytes: 4 * 1024 * 1024,
};

export interface RecordFault {
  ErrorCode: string;
  ErrorMessage: string;
}

/** What Firehose answers for a record it could not take for now. */
export const THROTTLED: RecordFault = {
  ErrorCode: 'ServiceUnavailableException',
  ErrorMessage: 'Slow down.',
};
export const INTERNAL_FAILURE: RecordFault = {
  ErrorCode: 'InternalFailure',
  ErrorMessage: 'Internal service failure.',
};

export interface RequestFault {
  /** HTTP status (default 500) */
  status?: number;
  /** the error's __type, e.g. ServiceUnavailableException, InternalFailure (default InternalFailure) */
  type?: string;
  message?: string;
}

export interface FirehoseRequest {
  operation: string;
  stream?: string;
  /** records in the call (PutRecord: 1) */
  records: number;
  /** the HTTP status answered */
  status: number;
}

/**
 * Decides a record's fate: a fault fails it (reported in RequestResponses), undefined
 * accepts it. `index` is its place in the call; `attempt` counts how often these exact bytes
 * were offered to the stream before (0 the first time), so "fail once, then accept" is
 * `(r) => (r.attempt === 0 ? THROTTLED : undefined)`.
 */
export type RecordPolicy = (r: {
  stream: string;
  data: Buffer;
  index: number;
  attempt: number;
}) => RecordFault | undefined;

export interface FirehoseFake {
  /** http://127.0.0.1:PORT, for the client's endpoint */
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** data of the records accepted, in order, for one stream or all */
  records(stream?: string): Buffer[];
  /** every request answered, in order */
  requests: FirehoseRequest[];
  /** makes a delivery stream exist (CreateDeliveryStream does too) */
  createStream(name: string): void;
  /** sets (or clears) the per-record policy */
  failRecords(policy: RecordPolicy | undefined): void;
  /** the next `count` requests, whatever they are, fail whole with this error */
  failRequests(count: number, fault?: RequestFault): void;
  close(): Promise<void>;
}

const TARGET_PREFIX = 'Firehose_20150804.';
const ACCOUNT = '123456789012';

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

interface ApiRecord {
  Data?: unknown;
}

export async function startFirehoseFake(
  opts: { streams?: string[]; region?: string } = {},
): Promise<FirehoseFake> {
  const region = opts.region ?? 'us-east-1';
  const streams = new Map<string, Buffer[]>();
  for (const s of opts.streams ?? []) streams.set(s, []);
  const offered = new Map<string, number>(); // stream + data -> times offered
  const requests: FirehoseRequest[] = [];
  let policy: RecordPolicy | undefined;
  let requestFaults: { count: number; fault: RequestFault } = { count: 0, fault: {} };

  const streamOf = (body: Record<string, unknown>): string => {
    const name = body.DeliveryStreamName;
    if (typeof name !== 'string' || name === '') {
      throw new ApiError(
        400,
        'ValidationException',
        "1 validation error detected: Value null at 'deliveryStreamName' failed to satisfy constraint: Member must not be null",
      );
    }
    if (!streams.has(name)) {
      throw new ApiError(
        400,
        'ResourceNotFoundException',
        `Firehose ${name} under account ${ACCOUNT} not found.`,
      );
    }
    return name;
  };

  const decodeRecords = (list: ApiRecord[]): Buffer[] => {
    const out: Buffer[] = [];
    let total = 0;
    for (const [i, r] of list.entries()) {
      if (typeof r?.Data !== 'string') {
        throw new ApiError(
          400,
          'ValidationException',
          `1 validation error detected: Value null at 'records.${i + 1}.member.data' failed to satisfy constraint: Member must not be null`,
        );
      }
      const data = Buffer.from(r.Data, 'base64');
      if (data.length > FIREHOSE_LIMITS.maxRecordBytes) {
        throw new ApiError(
          400,
          'ValidationException',
          `1 validation error detected: Value at 'records.${i + 1}.member.data' failed to satisfy constraint: Member must have length less than or equal to ${FIREHOSE_LIMITS.maxRecordBytes}`,
        );
      }
      total += data.length;
      out.push(data);
    }
    if (total > FIREHOSE_LIMITS.maxBatchBytes) {
      throw new ApiError(400, 'InvalidArgumentException', 'Records size exceeds 4 MB limit');
    }
    return out;
  };

  const put = (stream: string, data: Buffer, index: number): { RecordId: string } | RecordFault => {
    const key = `${stream}\0${data.toString('base64')}`;
    const attempt = offered.get(key) ?? 0;
    offered.set(key, attempt + 1);
    const fault = policy?.({ stream, data, index, attempt });
    if (fault) return { ErrorCode: fault.ErrorCode, ErrorMessage: fault.ErrorMessage };
    streams.get(stream)!.push(data);
    return { RecordId: randomBytes(56).toString('base64') };
  };

  const operations: Record<string, (body: Record<string, unknown>, req: FirehoseRequest) => unknown> = {
    CreateDeliveryStream(body, req) {
      const name = body.DeliveryStreamName;
      if (typeof name !== 'string' || name === '')
        throw new ApiError(400, 'ValidationException', 'no DeliveryStreamName');
      if (streams.has(name)) {
        throw new ApiError(
          400,
          'ResourceInUseException',
          `Firehose ${name} under accountId ${ACCOUNT} already exists`,
        );
      }
      req.stream = name;
      streams.set(name, []);
      return { DeliveryStreamARN: `arn:aws:firehose:${region}:${ACCOUNT}:deliverystream/${name}` };
    },
    DescribeDeliveryStream(body, req) {
      const name = (req.stream = streamOf(body));
      return {
        DeliveryStreamDescription: {
          DeliveryStreamName: name,
          DeliveryStreamARN: `arn:aws:firehose:${region}:${ACCOUNT}:deliverystream/${name}`,
          DeliveryStreamStatus: 'ACTIVE',
          DeliveryStreamType: 'DirectPut',
          VersionId: '1',
          Destinations: [],
          HasMoreDestinations: false,
        },
      };
    },
    ListDeliveryStreams() {
      return { DeliveryStreamNames: [...streams.keys()], HasMoreDeliveryStreams: false };
    },
    PutRecord(body, req) {
      const name = (req.stream = streamOf(body));
      const [data] = decodeRecords([body.Record as ApiRecord]);
      req.records = 1;
      const r = put(name, data!, 0);
      if ('ErrorCode' in r) throw new ApiError(400, r.ErrorCode, r.ErrorMessage);
      return { RecordId: r.RecordId, Encrypted: false };
    },
    PutRecordBatch(body, req) {
      const name = (req.stream = streamOf(body));
      const list = body.Records;
      if (!Array.isArray(list) || list.length === 0) {
        throw new ApiError(
          400,
          'ValidationException',
          "1 validation error detected: Value '[]' at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1",
        );
      }
      req.records = list.length;
      if (list.length > FIREHOSE_LIMITS.maxRecordsPerBatch) {
        throw new ApiError(
          400,
          'ValidationException',
          `1 validation error detected: Value at 'records' failed to satisfy constraint: Member must have length less than or equal to ${FIREHOSE_LIMITS.maxRecordsPerBatch}`,
        );
      }
      const responses = decodeRecords(list as ApiRecord[]).map((data, i) => put(name, data, i));
      return {
        FailedPutCount: responses.filter((r) => 'ErrorCode' in r).length,
        Encrypted: false,
        RequestResponses: responses,
      };
    },
  };

  const answer = (res: http.ServerResponse, status: number, body: unknown, errorType?: string) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomBytes(16).toString('hex'),
      ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
    });
    res.end(text);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const record: FirehoseRequest = {
        operation: target.slice(TARGET_PREFIX.length) || target,
        records: 0,
        status: 200,
      };
      requests.push(record);
      try {
        if (req.method !== 'POST' || req.url !== '/') {
          throw new ApiError(404, 'UnknownOperationException', `${req.method} ${req.url}`);
        }
        if (!/^AWS4-HMAC-SHA256 Credential=/.test(String(req.headers.authorization ?? ''))) {
          throw new ApiError(400, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
        }
        if (!String(req.headers['content-type'] ?? '').startsWith('application/x-amz-json-1.1')) {
          throw new ApiError(
            400,
            'SerializationException',
            'expected Content-Type application/x-amz-json-1.1',
          );
        }
        const op = target.startsWith(TARGET_PREFIX)
          ? operations[target.slice(TARGET_PREFIX.length)]
          : undefined;
        if (!op) throw new ApiError(400, 'UnknownOperationException', `unknown operation ${target}`);
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
        } catch {
          throw new ApiError(400, 'SerializationException', 'the body is not JSON');
        }
        if (requestFaults.count > 0) {
          requestFaults.count--;
          const f = requestFaults.fault;
          throw new ApiError(
            f.status ?? 500,
            f.type ?? 'InternalFailure',
            f.message ?? 'Internal service failure.',
          );
        }
        answer(res, 200, op(body, record));
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        record.status = err.status;
        answer(res, err.status, { __type: err.type, message: err.message }, err.type);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    records(stream) {
      if (stream !== undefined) return [...(streams.get(stream) ?? [])];
      return [...streams.values()].flat();
    },
    requests,
    createStream(name) {
      if (!streams.has(name)) streams.set(name, []);
    },
    failRecords(p) {
      policy = p;
    },
    failRequests(count, fault = {}) {
      requestFaults = { count, fault };
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
