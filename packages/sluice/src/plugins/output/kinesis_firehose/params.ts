// The parameters of out_kinesis_firehose: the names and defaults of fluent-plugin-kinesis 3.x
// (lib/fluent/plugin/out_kinesis_firehose.rb, kinesis.rb, kinesis_helper/{api,client}.rb) that
// Sluice builds, and the ones it does not, listed so a config that sets them is refused by name
// (FIREHOSE_PARAM_NOT_BUILT). docs/outputs/kinesis_firehose.md says what each does here.
import { declareNotBuilt } from '../../../config/not-built.ts';
import { defineParams, type ParamSpec, type ParamsOf } from '../../../config/schema.ts';

/** PutRecordBatch's limits (Firehose API reference): records and bytes of data per call. */
export const BATCH_LIMIT_COUNT = 500;
export const BATCH_LIMIT_SIZE = 4 * 1024 * 1024;
/** fluent-plugin-kinesis's MaxRecordSize: the largest max_record_size it accepts. */
export const PLUGIN_MAX_RECORD_SIZE = 1024 * 1024;
/** Firehose's limit for one record's data, before base64 (1,000 KiB). */
export const FIREHOSE_MAX_RECORD_SIZE = 1_024_000;

export const params = defineParams({
  delivery_stream_name: {
    type: 'string',
    required: true,
    description:
      'The delivery stream the records are put to. Chunk-key placeholders (${tag}, ${tag[N]}, ${key}, strftime with a time chunk key) are resolved per chunk.',
  },
  region: {
    type: 'string',
    description:
      "The stream's AWS region. Default: the AWS SDK's (AWS_REGION, the profile's region in ~/.aws/config); none at all fails the start (FIREHOSE_NO_REGION).",
    default: null,
  },
  endpoint: {
    type: 'string',
    description:
      "The URL of the Firehose API to use instead of the region's (a VPC endpoint, a local fake, Sluice's own `firehose` input).",
    default: null,
  },
  aws_key_id: {
    type: 'secret',
    description:
      "Access key id. With aws_sec_key, these credentials are used; without them, the AWS SDK's default chain (environment, shared files and AWS_PROFILE, SSO, web identity, ECS, EC2 instance metadata).",
    default: null,
  },
  aws_sec_key: { type: 'secret', description: 'Secret access key, with aws_key_id.', default: null },
  aws_ses_token: {
    type: 'secret',
    description: 'Session token of temporary credentials, with aws_key_id and aws_sec_key.',
    default: null,
  },
  append_new_line: {
    type: 'bool',
    description:
      "End each record's data with exactly one newline (the formatted text's trailing newline is removed first), so the objects Firehose writes to S3 hold one record per line.",
    default: true,
  },
  data_key: {
    type: 'string',
    description:
      'Send the value of this record key (as text) as the data instead of the formatted record. A record without it is routed to <label @ERROR> (FIREHOSE_RECORD_INVALID).',
    default: null,
  },
  chomp_record: {
    type: 'bool',
    description:
      "Remove the formatter's trailing newline from each record (fluent-plugin-kinesis v2's format). append_new_line adds one back.",
    default: false,
  },
  compression: {
    type: 'enum',
    values: ['zlib', 'gzip'],
    description:
      "Compress each record's data: zlib (deflate) or gzip. The size limits apply to the compressed data.",
    default: null,
  },
  max_record_size: {
    type: 'integer',
    min: 1,
    max: PLUGIN_MAX_RECORD_SIZE,
    description:
      'The largest data of one record, in bytes (at most 1 MiB, as fluent-plugin-kinesis). Firehose takes 1,000 KiB (1,024,000 bytes) at most, so that is the limit whenever this is larger. A larger record is routed to <label @ERROR> (FIREHOSE_RECORD_TOO_LARGE), never sent.',
    default: PLUGIN_MAX_RECORD_SIZE,
  },
  batch_request_max_count: {
    type: 'integer',
    min: 1,
    max: BATCH_LIMIT_COUNT,
    description: 'The most records in one PutRecordBatch request (Firehose takes 500).',
    default: BATCH_LIMIT_COUNT,
  },
  batch_request_max_size: {
    type: 'integer',
    min: 1,
    max: BATCH_LIMIT_SIZE,
    description:
      'The most bytes of record data (before base64) in one PutRecordBatch request (Firehose takes 4 MiB).',
    default: BATCH_LIMIT_SIZE,
  },
  retries_on_batch_request: {
    type: 'integer',
    min: 0,
    description:
      'How many times the records a PutRecordBatch answer reports failed are sent again within one write of the chunk, after a backoff of about 0.3 s doubled each time. Then the write fails and the buffer retries the chunk (only its unsent records).',
    default: 8,
  },
  reset_backoff_if_success: {
    type: 'bool',
    description: 'Start the backoff over from 0.3 s when an answer with failed records also accepted some.',
    default: true,
  },
  drop_failed_records_after_batch_request_retries: {
    type: 'bool',
    description:
      'Sluice default false (fluent-plugin-kinesis: true, the records are dropped with a log line). false: records still failed after retries_on_batch_request fail the write, and the buffer retries the chunk (its backoff, retry_timeout, <secondary>). true: they are routed to <label @ERROR> with their error code (FIREHOSE_RECORD_FAILED) and the chunk is done.',
    default: false,
  },
  monitor_num_of_batch_request_retries: {
    type: 'bool',
    description:
      'Accepted; Sluice always counts batch request retries (metric batch_request_retries) and records given up.',
    default: false,
  },
  log_truncate_max_size: {
    type: 'integer',
    min: 0,
    description: 'Log lines that quote a record are cut to this many characters (0: not cut).',
    default: 1024,
  },
  debug: {
    type: 'bool',
    description: 'Log every PutRecordBatch request and its outcome (at info level instead of debug).',
    default: false,
  },
  request_timeout: {
    type: 'time',
    description:
      'Sluice: how long one PutRecordBatch may take before it fails and the chunk is retried with its unsent records.',
    default: 60,
  },
});

/**
 * Parameters of fluent-plugin-kinesis that Sluice does not build, with the values that ask for
 * nothing Sluice lacks (a config that sets one to another value is refused by name), and its
 * credential sections, refused whenever present (FIREHOSE_PARAM_NOT_BUILT).
 */
export const notBuilt = declareNotBuilt({
  code: 'FIREHOSE_PARAM_NOT_BUILT',
  of: 'fluent-plugin-kinesis',
  docs: 'docs/outputs/kinesis_firehose.md',
  params: {
    http_proxy: [],
    ssl_verify_peer: ['true'],
  },
  sections: [
    'assume_role_credentials',
    'web_identity_credentials',
    'instance_profile_credentials',
    'shared_credentials',
    'process_credentials',
  ],
  sectionsInstead:
    "the AWS SDK's default credential chain reads the environment (AWS_ACCESS_KEY_ID, AWS_PROFILE, AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE...), the shared files, ECS and EC2 instance metadata",
});

export const schemaParams: typeof params & Record<string, ParamSpec> = { ...params, ...notBuilt.params };

export type Params = ParamsOf<typeof params>;
