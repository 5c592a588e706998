import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { EventTime } from '@sluice/forward';
import { newChunkId } from '../../../../src/buffer/store.ts';
import { EventBatch, type EventRecord } from '../../../../src/core/batch.ts';
import { expandPlaceholders } from '../../../../src/core/placeholders.ts';
import type { Chunk } from '../../../../src/core/plugin.ts';
import { UTC } from '../../../../src/time/time-zone.ts';
import type { MotoServer } from '../../../stores/moto.ts';

/** A chunk as the buffer hands it to write(): keys tag and time (a timekey), a Sluice chunk id. */
export function chunkOf(
  tag: string,
  records: EventRecord[],
  opts: { time?: EventTime; timekey?: number; id?: string; vars?: Record<string, string> } = {},
): Chunk {
  const time = opts.time ?? new EventTime(1700000000, 123456789);
  const batch = EventBatch.fromEntries(
    tag,
    records.map((record) => ({ time, record })),
  );
  const keys = { tag, time: opts.timekey ?? Math.floor(time.sec / 86400) * 86400, vars: opts.vars ?? {} };
  return {
    id: opts.id ?? newChunkId(),
    keys,
    bytes: batch.bytes,
    count: batch.count,
    entries: () => batch.entries(),
    expand: (t: string, esc?: (value: string) => string) =>
      expandPlaceholders(t, keys, { zone: UTC, escape: esc }),
  };
}

export function client(moto: MotoServer): S3Client {
  return new S3Client({
    endpoint: moto.endpoint,
    region: moto.region,
    credentials: moto.credentials,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Every key of a bucket under a prefix. */
export async function keys(s3: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const r = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of r.Contents ?? []) out.push(o.Key!);
    token = r.NextContinuationToken;
  } while (token);
  return out.sort();
}

export async function getObject(s3: S3Client, bucket: string, key: string) {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return { body: Buffer.from(await r.Body!.transformToByteArray()), contentType: r.ContentType, r };
}

export async function head(s3: S3Client, bucket: string, key: string) {
  return s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
}

/** The config snippet of an s3 output against moto. */
export function conf(moto: MotoServer, bucket: string, body = ''): string {
  return `<match **>
@type s3
s3_bucket ${bucket}
s3_region ${moto.region}
s3_endpoint ${moto.endpoint}
force_path_style true
aws_key_id ${moto.credentials.accessKeyId}
aws_sec_key ${moto.credentials.secretAccessKey}
${body}
</match>
`;
}
