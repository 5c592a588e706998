// AWS Signature Version 4, the verifying side: the canonical request rebuilt from what
// arrived, the string to sign, the key derived from the secret, compared in constant time.
// Written from AWS's SigV4 specification; the SDKs (botocore, @aws-sdk) sign what it checks.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { AwsError } from './errors.ts';

export interface SigV4Options {
  /** access key id -> secret access key */
  keys: ReadonlyMap<string, string>;
  /** the service name the credential scope must name */
  service: string;
  /** the region the scope must name; undefined accepts any */
  region: string | undefined;
  /** how far X-Amz-Date may be from this machine's clock, ms */
  clockSkewMs: number;
}

export interface SignedRequest {
  method: string;
  /** the path as sent (not decoded) */
  path: string;
  /** the raw query string, '' when none */
  query: string;
  headers: IncomingHttpHeaders;
  /** the body as sent on the wire */
  body: Buffer;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const AUTH_RE =
  /^AWS4-HMAC-SHA256\s+Credential=([^,\s]+)\s*,\s*SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-fA-F]+)\s*$/;

const sha256Hex = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it (unreserved characters kept, everything else %XX). */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  const pairs = query.split('&').map((kv) => {
    const i = kv.indexOf('=');
    const k = decodeURIComponent((i < 0 ? kv : kv.slice(0, i)).replace(/\+/g, ' '));
    const v = i < 0 ? '' : decodeURIComponent(kv.slice(i + 1).replace(/\+/g, ' '));
    return [uriEncode(k), uriEncode(v)] as const;
  });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** Non-S3 services sign the path with each segment URI-encoded (once more over what was sent). */
function canonicalPath(path: string): string {
  if (path === '' || path === '/') return '/';
  return path
    .split('/')
    .map((seg) => uriEncode(decodeURIComponentSafe(seg)))
    .map(uriEncode)
    .join('/');
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v.join(',') : v).trim().replace(/\s+/g, ' ');
}

/** 20261206T225523Z -> ms since the epoch */
function amzDateMs(d: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(d);
  if (!m) return Number.NaN;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

const INVALID_TOKEN = 'The security token included in the request is invalid.';
const BAD_SIGNATURE =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/**
 * Verifies a request's Authorization header; returns the access key id it was signed with,
 * or throws the error AWS answers (MissingAuthenticationTokenException,
 * IncompleteSignatureException, UnrecognizedClientException, InvalidSignatureException).
 */
export function verifySigV4(req: SignedRequest, o: SigV4Options, now = Date.now()): string {
  const auth = headerValue(req.headers, 'authorization');
  if (!auth)
    throw new AwsError(
      400,
      'MissingAuthenticationTokenException',
      'Missing Authentication Token',
      'FIREHOSE_AUTH',
    );
  const m = AUTH_RE.exec(auth);
  if (!m)
    throw new AwsError(
      400,
      'IncompleteSignatureException',
      `Authorization header requires '${ALGORITHM} Credential=..., SignedHeaders=..., Signature=...'`,
      'FIREHOSE_AUTH',
    );
  const [, credential, signedHeaders, signature] = m as unknown as [string, string, string, string];
  const scope = credential.split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request')
    throw new AwsError(
      400,
      'IncompleteSignatureException',
      `Credential '${credential}' is malformed`,
      'FIREHOSE_AUTH',
    );
  const [keyId, day, region, service] = scope as [string, string, string, string, string];
  const secret = o.keys.get(keyId);
  if (secret === undefined)
    throw new AwsError(400, 'UnrecognizedClientException', INVALID_TOKEN, 'FIREHOSE_AUTH');
  if (service !== o.service || (o.region !== undefined && region !== o.region))
    throw new AwsError(
      400,
      'InvalidSignatureException',
      `Credential should be scoped to a valid region and service '${o.service}' (got '${region}/${service}')`,
      'FIREHOSE_AUTH',
    );
  const amzDate = headerValue(req.headers, 'x-amz-date') ?? '';
  const at = amzDateMs(amzDate);
  if (!Number.isFinite(at) || amzDate.slice(0, 8) !== day)
    throw new AwsError(
      400,
      'IncompleteSignatureException',
      'X-Amz-Date is missing, malformed, or not the day of the credential scope',
      'FIREHOSE_AUTH',
    );
  if (Math.abs(now - at) > o.clockSkewMs) {
    const iso = (t: number) => new Date(t).toISOString().replace(/[-:]|\.\d{3}/g, '');
    throw new AwsError(
      400,
      'InvalidSignatureException',
      `Signature expired: ${amzDate} is now earlier than ${iso(now - o.clockSkewMs)} (${iso(now)} - ${o.clockSkewMs / 60_000} min.)`,
      'FIREHOSE_AUTH',
    );
  }
  const names = signedHeaders.split(';');
  if (!names.includes('host'))
    throw new AwsError(400, 'InvalidSignatureException', "'Host' must be a signed header", 'FIREHOSE_AUTH');
  let canonicalHeaders = '';
  for (const n of names) canonicalHeaders += `${n}:${headerValue(req.headers, n) ?? ''}\n`;
  const payloadHash = sha256Hex(req.body);
  const canonical = [
    req.method,
    canonicalPath(req.path),
    canonicalQuery(req.query),
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join('\n');
  const stringToSign = [
    ALGORITHM,
    amzDate,
    `${day}/${region}/${service}/aws4_request`,
    sha256Hex(canonical),
  ].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), 'aws4_request');
  const want = hmac(key, stringToSign);
  const got = Buffer.from(signature, 'hex');
  if (got.length !== want.length || !timingSafeEqual(got, want))
    throw new AwsError(400, 'InvalidSignatureException', BAD_SIGNATURE, 'FIREHOSE_AUTH');
  return keyId;
}
