// The parameters of out_s3: the names and defaults of fluent-plugin-s3
// (lib/fluent/plugin/out_s3.rb) that Sluice builds, a few of its own (multipart), and the
// ones it does not build, listed so a config that sets them is refused by name
// (S3_PARAM_NOT_BUILT). docs/outputs/s3.md says what each does here.
import { declareNotBuilt } from '../../../config/not-built.ts';
import { defineParams, type ParamSpec, type ParamsOf } from '../../../config/schema.ts';

export const params = defineParams({
  s3_bucket: { type: 'string', required: true, description: 'The bucket the objects are written to.' },
  s3_region: {
    type: 'string',
    description: "The bucket's region. Default: $AWS_REGION, else us-east-1 (as fluent-plugin-s3).",
    default: null,
  },
  s3_endpoint: {
    type: 'string',
    description:
      'The URL of an S3-compatible server (MinIO, Ceph, moto...). Refused for an amazonaws.com endpoint other than a VPC endpoint, FIPS or GovCloud one (use s3_region), as fluent-plugin-s3 does.',
    default: null,
  },
  force_path_style: {
    type: 'bool',
    description:
      'Put the bucket in the path (http://host/bucket/key) instead of the host name; most S3-compatible servers need it.',
    default: false,
  },
  enable_transfer_acceleration: {
    type: 'bool',
    description: "Use the bucket's S3 Transfer Acceleration endpoint (it must be enabled on the bucket).",
    default: false,
  },
  enable_dual_stack: {
    type: 'bool',
    description: 'Use the dual-stack (IPv4 and IPv6) S3 endpoint.',
    default: false,
  },
  aws_key_id: {
    type: 'secret',
    description:
      "Access key id. With aws_sec_key, these credentials are used; without them, the AWS SDK's default chain (environment, shared files, SSO, web identity, ECS, EC2 instance metadata).",
    default: null,
  },
  aws_sec_key: { type: 'secret', description: 'Secret access key, with aws_key_id.', default: null },
  aws_profile: {
    type: 'string',
    description:
      'A profile of the shared config and credentials files (~/.aws/config, ~/.aws/credentials) for the default chain.',
    default: null,
  },
  path: {
    type: 'string',
    description:
      'The key prefix, %{path} in s3_object_key_format. Chunk-key placeholders (${tag}, ${tag[N]}, ${key}, strftime with a time key) are resolved per chunk.',
    default: '',
  },
  s3_object_key_format: {
    type: 'string',
    description:
      'The object key. %{path}, %{time_slice}, %{index} (in Sluice: the chunk id, see docs/outputs/s3.md), %{file_extension}, %{uuid_flush}, %{hex_random}, %{hostname}, %{hms_slice}, ${chunk_id} and the chunk-key placeholders. Every one of them is the same when a chunk is uploaded again, so a retried or replayed chunk overwrites its own object.',
    default: '%{path}%{time_slice}_%{index}.%{file_extension}',
  },
  time_slice_format: {
    type: 'string',
    description:
      "%{time_slice}: the chunk's timekey in this strftime format, in the buffer's zone (timekey_use_utc, timekey_zone). Default, as fluent-plugin-s3 v1: from the timekey (%Y%m%d for the default 1-day timekey, %Y%m%d%H for 1 hour to 1 day, %Y%m%d%H%M below an hour).",
    default: null,
    eventTimeFormat: true,
  },
  store_as: {
    type: 'string',
    description:
      "How the formatted chunk is stored: gzip (one gzip member, .gz, application/x-gzip), json (.json, application/json) or text (.txt, text/plain). json and text store the bytes as formatted: json does not change the format (use <format> @type json). fluent-plugin-s3's lzo, lzma2, zstd and parquet are refused (S3_PARAM_NOT_BUILT).",
    default: 'gzip',
  },
  storage_class: {
    type: 'string',
    description:
      'The storage class of the objects (STANDARD, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, ...).',
    default: 'STANDARD',
  },
  reduced_redundancy: {
    type: 'bool',
    description: 'Deprecated in fluent-plugin-s3: storage_class REDUCED_REDUNDANCY.',
    default: false,
  },
  acl: {
    type: 'string',
    description: 'A canned ACL for the objects (private, public-read, bucket-owner-full-control, ...).',
    default: null,
  },
  grant_full_control: {
    type: 'string',
    description: 'x-amz-grant-full-control of the objects.',
    default: null,
  },
  grant_read: { type: 'string', description: 'x-amz-grant-read of the objects.', default: null },
  grant_read_acp: { type: 'string', description: 'x-amz-grant-read-acp of the objects.', default: null },
  grant_write_acp: { type: 'string', description: 'x-amz-grant-write-acp of the objects.', default: null },
  use_server_side_encryption: {
    type: 'string',
    description: 'Server-side encryption of the objects: AES256 or aws:kms.',
    default: null,
  },
  ssekms_key_id: {
    type: 'secret',
    description: 'The KMS key id for aws:kms encryption (use_server_side_encryption aws:kms).',
    default: null,
  },
  tagging: {
    type: 'string',
    description: 'Object tags as a URL query string, e.g. team=ops&env=prod.',
    default: null,
  },
  auto_create_bucket: {
    type: 'bool',
    description: 'Create the bucket at start when it does not exist (with check_bucket).',
    default: true,
  },
  check_bucket: {
    type: 'bool',
    description: 'At start, check that the bucket exists (HeadBucket), creating it with auto_create_bucket.',
    default: true,
  },
  check_apikey_on_start: {
    type: 'bool',
    description:
      'At start, list one key under path to check the credentials; failure stops the start (S3_START_FAILED).',
    default: true,
  },
  check_object: {
    type: 'bool',
    description:
      'Sluice: keys are unique without a HEAD request whenever s3_object_key_format has %{index}, ${chunk_id}, %{uuid_flush} or %{hex_random}, and then nothing is checked. Without any of them, true makes a HEAD request before each upload: an object of another chunk under that key fails the chunk (S3_OBJECT_EXISTS) instead of overwriting it; false overwrites. See docs/outputs/s3.md.',
    default: true,
  },
  overwrite: {
    type: 'bool',
    description:
      'With check_object and a key without a unique placeholder: overwrite an object of another chunk (with a warning) instead of failing.',
    default: false,
  },
  hex_random_length: {
    type: 'integer',
    min: 1,
    max: 16,
    description: 'Length of %{hex_random}: that many hex digits of the reversed chunk id (4-16).',
    default: 4,
  },
  index_format: {
    type: 'string',
    description:
      'Accepted for compatibility, no effect: %{index} is the chunk id in Sluice (a number found by HEAD requests races across workers and hosts). A value other than %d is logged as a warning.',
    default: '%d',
  },
  warn_for_delay: {
    type: 'time',
    description: 'Log a warning when a chunk whose timekey is older than this is uploaded (late events).',
    default: null,
  },
  multipart_threshold: {
    type: 'size',
    description:
      'Sluice: an object larger than this (after compression) is uploaded in parts (multipart upload, aborted on failure); smaller ones with one PutObject.',
    default: 16 * 1024 * 1024,
  },
  multipart_chunk_size: {
    type: 'size',
    description:
      'Sluice: the size of each part of a multipart upload (S3 takes 5 MiB to 5 GiB; the last part may be smaller).',
    default: 8 * 1024 * 1024,
  },
  request_timeout: {
    type: 'time',
    description:
      'Sluice: how long one request to S3 (a PutObject, a part) may take before it fails and the chunk is retried.',
    default: 120,
  },
});

/**
 * Parameters of fluent-plugin-s3 that Sluice does not build, with the values that ask for
 * nothing Sluice lacks (the Ruby default, or the feature off): a config that sets one to another
 * value is refused by name (S3_PARAM_NOT_BUILT). `'*'`: any value is harmless. Its credential
 * and lifecycle sections are refused whenever present.
 */
export const notBuilt = declareNotBuilt({
  code: 'S3_PARAM_NOT_BUILT',
  of: 'fluent-plugin-s3',
  docs: 'docs/outputs/s3.md',
  params: {
    aws_credential_process: [],
    aws_iam_retries: [],
    use_bundled_cert: ['false'],
    proxy_uri: [],
    ssl_verify_peer: ['true'],
    ssl_ca_bundle: [],
    ssl_ca_directory: [],
    sse_customer_algorithm: [],
    sse_customer_key: [],
    sse_customer_key_md5: [],
    compute_checksums: ['*'],
    signature_version: ['v4'],
    checksum_algorithm: [],
    s3_metadata: [],
  },
  anyValueBecause: 'the AWS SDK v3 decides',
  sections: [
    'assume_role_credentials',
    'web_identity_credentials',
    'instance_profile_credentials',
    'shared_credentials',
    'bucket_lifecycle_rule',
  ],
  sectionsInstead:
    "the AWS SDK's default credential chain reads the environment (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE...), shared files and instance metadata",
});

export const schemaParams: typeof params & Record<string, ParamSpec> = { ...params, ...notBuilt.params };

export type Params = ParamsOf<typeof params>;
