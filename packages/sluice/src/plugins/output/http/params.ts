import { defineParams, defineSection, type ParamsOf } from '../../../config/schema.ts';

export const params = defineParams({
  endpoint: {
    type: 'string',
    required: true,
    description:
      'The URL to send to, e.g. http://example.com/api/${tag[1]}/ (placeholders from the chunk keys; Sluice percent-encodes the values it puts into the path and query).',
  },
  http_method: { type: 'enum', values: ['post', 'put'], description: 'The HTTP method.', default: 'post' },
  proxy: {
    type: 'string',
    description:
      'A proxy URL (http://user:pass@host:port). Default: env HTTP_PROXY / http_proxy, as in Fluentd.',
    default: null,
  },
  content_type: {
    type: 'string',
    description:
      'Content-Type of requests; default from the <format> type (json: application/x-ndjson, or application/json with json_array).',
    default: null,
  },
  json_array: {
    type: 'bool',
    description: 'Send the chunk as one JSON array instead of JSON lines (json format only).',
    default: false,
  },
  headers: { type: 'hash', description: 'Additional request headers.', default: null },
  headers_from_placeholders: {
    type: 'hash',
    description: 'Additional request headers whose values hold placeholders, resolved per chunk.',
    default: null,
  },
  compress: {
    type: 'enum',
    values: ['text', 'gzip'],
    description: 'gzip: compress the body and send Content-Encoding: gzip.',
    default: 'text',
  },
  allowed_hosts: {
    type: 'array',
    description: 'Hosts allowed when the endpoint host itself comes from a placeholder.',
    default: [],
  },
  open_timeout: {
    type: 'integer',
    description: 'Seconds to wait for a connection (TCP, and TLS unless ssl_timeout is set).',
    default: null,
  },
  read_timeout: {
    type: 'integer',
    description: 'Seconds to wait for the response headers and between body chunks.',
    default: null,
  },
  ssl_timeout: {
    type: 'integer',
    description: 'Seconds added to the connection timeout for the TLS handshake.',
    default: null,
  },
  reuse_connections: {
    type: 'bool',
    description: 'Accepted for compatibility: Sluice always keeps connections alive in a pool.',
    default: false,
  },
  tls_ca_cert_path: {
    type: 'string',
    description: 'PEM CA certificates to verify the server with.',
    default: null,
  },
  tls_client_cert_path: {
    type: 'string',
    description: 'PEM client certificate (chain) for mutual TLS.',
    default: null,
  },
  tls_private_key_path: {
    type: 'string',
    description: 'PEM private key of the client certificate.',
    default: null,
  },
  tls_private_key_passphrase: {
    type: 'secret',
    description: 'Passphrase of the client private key.',
    default: null,
  },
  tls_verify_mode: {
    type: 'enum',
    values: ['none', 'peer'],
    description: "'none' skips server certificate verification.",
    default: 'peer',
  },
  tls_version: {
    type: 'enum',
    values: ['TLSv1_1', 'TLSv1_2', 'TLSv1_3'],
    description: 'Minimum TLS version.',
    default: 'TLSv1_2',
  },
  tls_ciphers: { type: 'string', description: 'OpenSSL cipher list.', default: null },
  error_response_as_unrecoverable: {
    type: 'bool',
    description:
      'A non-2xx answer not in retryable_response_codes fails the chunk for good (to <secondary>); false logs it and drops the chunk, as Fluentd does.',
    default: true,
  },
  retryable_response_codes: {
    type: 'array',
    description: 'Status codes after which the chunk is retried with backoff.',
    default: ['503'],
  },
  connections: {
    type: 'integer',
    description: 'Sluice extension: the most connections kept open per host.',
    default: 16,
  },
});

export type Params = ParamsOf<typeof params>;

export const authSection = defineSection({
  description: 'HTTP authentication: basic (Fluentd), bearer (Sluice extension).',
  params: {
    method: {
      type: 'enum',
      values: ['basic', 'bearer', 'aws_sigv4'],
      description: 'The authentication method.',
      default: 'basic',
    },
    username: { type: 'string', description: 'User name for basic.', default: null },
    password: { type: 'secret', description: 'Password for basic.', default: null },
    token: {
      type: 'secret',
      description: 'Token for bearer (Authorization: Bearer <token>).',
      default: null,
    },
    aws_service: { type: 'string', description: 'aws_sigv4 (not built in Sluice).', default: null },
    aws_region: { type: 'string', description: 'aws_sigv4 (not built in Sluice).', default: null },
    aws_role_arn: { type: 'string', description: 'aws_sigv4 (not built in Sluice).', default: null },
  },
});
