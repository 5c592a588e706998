import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { EventTime } from '@sluice/forward';
import type { EventRecord } from '../../../../src/core/batch.ts';
import type { Chunk } from '../../../../src/core/plugin.ts';
import { chunkOf as testChunk } from '../../../helpers/chunk.ts';
import type { MotoServer } from '../../../stores/moto.ts';

/** A chunk as the buffer hands it to write(): keys tag and time (a timekey: the events' day unless given), a Sluice chunk id. */
export function chunkOf(
  tag: string,
  records: EventRecord[],
  opts: { time?: EventTime; timekey?: number; id?: string; vars?: Record<string, string> } = {},
): Chunk {
  const time = opts.time ?? new EventTime(1700000000, 123456789);
  return testChunk(tag, records, {
    ...opts,
    time,
    timekey: opts.timekey ?? Math.floor(time.sec / 86400) * 86400,
  });
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
