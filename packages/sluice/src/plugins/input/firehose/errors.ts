// The errors the firehose input answers, in the shapes AWS's services use, so SDKs raise
// the same exception classes (and retry the same ones) as against Amazon Data Firehose.
import { randomUUID } from 'node:crypto';
import type { HttpReply } from '../../../shared/http-in/server.ts';

/** Firehose's limits for PutRecord / PutRecordBatch (the API reference's numbers). */
export const LIMITS = {
  recordsPerCall: 500,
  /** bytes of one record's data, before base64 (1,000 KiB) */
  recordBytes: 1_024_000,
  /** bytes of all records' data in one call, before base64 (4 MiB) */
  callBytes: 4 * 1024 * 1024,
} as const;

export const JSON_11 = 'application/x-amz-json-1.1';

/**
 * An AWS JSON 1.1 error: `{"__type": ..., "message": ...}` with `x-amzn-ErrorType`.
 * `code` is Sluice's code for the log line and the docs.
 */
export class AwsError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'AwsError';
  }
}

export function awsReply(status: number, body: unknown, errorType?: string): HttpReply {
  const headers: Record<string, string> = {
    'Content-Type': JSON_11,
    'x-amzn-RequestId': randomUUID(),
  };
  if (errorType) headers['x-amzn-ErrorType'] = errorType;
  return { status, headers, body: JSON.stringify(body) };
}

export function errorReply(e: AwsError): HttpReply {
  return awsReply(e.status, { __type: e.type, message: e.message }, e.type);
}

export const validation = (message: string) =>
  new AwsError(
    400,
    'ValidationException',
    `1 validation error detected: ${message}`,
    'FIREHOSE_INVALID_REQUEST',
  );

/** A record Sluice could not take now (the buffer refused it): the client retries it. */
export const SLOW_DOWN = 'ServiceUnavailableException';
export const INTERNAL_FAILURE = 'InternalFailure';
